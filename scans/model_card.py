"""What patients are told about the shipped model, read from its manifest (never by loading the model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ml.constants import ARTIFACTS_DIR, MANIFEST_NAME

# The evaluation sets ml.export writes, in the words shown to patients and in this order; others get
# their key as title.
SET_DESCRIPTIONS = {
    "report": (
        _("X-rays locked away for this report"),
        _(
            "Chest X-rays from the same hospital that the model never saw while learning and that no choice "
            "about the model was made on."
        ),
    ),
    "proxy_report": (
        _("Unusual-looking X-rays"),
        _(
            "X-rays whose exposure, contrast, borders or sharpness are the least typical of the hospital's films, "
            "kept out of training as a stand-in for X-rays from other machines."
        ),
    ),
    "report_perturbed": (
        _("The locked X-rays, made harder"),
        _("Copies cropped, blurred, darker or lighter, noisier and re-compressed, like X-rays from other machines."),
    ),
    "report_shifted": (
        _("The locked and unusual X-rays, as other machines might make them"),
        _(
            "The X-rays of the two sets above, each copied in the eight ways other machines and settings change "
            "a film (lower resolution, blur, a wider or tighter frame, noise, a tilt, edge enhancement, and a mix "
            "of these); the figures are for the copies."
        ),
    ),
}
# Sets the thresholds and calibration were chosen on: their figures flatter the model, so patients are
# shown the locked sets only (the model card lists them, marked as optimistic).
CHOSEN_ON = {"selection", "proxy_selection"}
# (path in a set, name, explanation, shown as a percentage); the 95 % interval is added where known.
ROWS = (
    # Translators: the model's validation figures, for parents. Sensitivity, specificity and AUC are the
    # usual medical terms; the explanations say what each means.
    (("sensitivity",), _("Sensitivity"), _("Of X-rays with pneumonia, the share the model called pneumonia."), True),
    (("specificity",), _("Specificity"), _("Of X-rays without pneumonia, the share the model called normal."), True),
    (("accuracy",), _("Accuracy"), _("Share of all X-rays read correctly."), True),
    (
        ("auc",),
        _("AUC"),
        _("How well the model ranks pneumonia above normal X-rays: 1 is perfect, 0.5 is chance."),
        False,
    ),
    (
        ("flagged_for_review", "sensitivity"),
        _("Pneumonia caught by the review flag"),
        _("Of X-rays with pneumonia, the share flagged for a radiologist (pneumonia suspected or uncertain)."),
        True,
    ),
    (
        ("flagged_for_review", "share_of_images"),
        _("X-rays flagged for review"),
        _("Share of all X-rays flagged for a radiologist."),
        True,
    ),
)


@dataclass(frozen=True)
class Metric:
    name: str
    value: str
    explanation: str


@dataclass(frozen=True)
class MetricSet:
    title: str
    description: str
    images: str
    metrics: list[Metric]


def manifest_path() -> Path:
    path = Path(settings.SCAN_MODEL_PATH or ARTIFACTS_DIR)
    return path / MANIFEST_NAME if path.is_dir() else path


def read_manifest() -> dict:
    """The manifest, or {} when no model has been exported yet: the page then says so."""
    try:
        manifest = json.loads(manifest_path().read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def metric_sets(manifest: dict) -> list[MetricSet]:
    metrics = manifest.get("metrics")
    if not isinstance(metrics, dict):
        return []
    order = {key: index for index, key in enumerate(SET_DESCRIPTIONS)}
    shown = sorted((key for key in metrics if key not in CHOSEN_ON), key=lambda key: order.get(key, len(order)))
    return [_metric_set(key, metrics[key]) for key in shown if isinstance(metrics[key], dict)]


def _metric_set(key: str, figures: dict) -> MetricSet:
    title, description = SET_DESCRIPTIONS.get(key, (key.replace("_", " ").capitalize(), ""))
    intervals = figures.get("confidence_intervals_95") or {}
    rows = []
    for path, name, explanation, percent in ROWS:
        value = _lookup(figures, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            interval = intervals.get(path[0]) if len(path) == 1 else None
            rows.append(Metric(name, _format(value, percent, interval), explanation))
    return MetricSet(title, description, _images(figures), rows)


def _lookup(figures: dict, path: tuple[str, ...]):
    for key in path:
        figures = figures.get(key) if isinstance(figures, dict) else None
    return figures


def _format(value: float, percent: bool, interval) -> str:
    def one(number: float) -> str:
        if percent:
            return gettext("%(percent)s%%") % {"percent": formats.number_format(number * 100, 1)}
        return formats.number_format(number, 3)

    text = one(value)
    if isinstance(interval, list | tuple) and len(interval) == 2:
        # Translators: a 95% confidence interval of a figure, e.g. "(95% interval 88.1% to 93.0%)".
        text = gettext("%(value)s (95%% interval %(low)s to %(high)s)") % {
            "value": text,
            "low": one(interval[0]),
            "high": one(interval[1]),
        }
    return text


def _images(figures: dict) -> str:
    images, pneumonia, normal = (figures.get(key) for key in ("images", "pneumonia", "normal"))
    if not isinstance(images, int):
        return ""

    def count(number: int) -> str:
        return formats.number_format(number, force_grouping=True)

    if isinstance(pneumonia, int) and isinstance(normal, int):
        # Translators: the X-rays of a validation set, e.g. "624 images: 390 with pneumonia, 234 without".
        return gettext("%(images)s images: %(pneumonia)s with pneumonia, %(normal)s without") % {
            "images": count(images),
            "pneumonia": count(pneumonia),
            "normal": count(normal),
        }
    return gettext("%(images)s images") % {"images": count(images)}


def band_of(prediction) -> tuple[int, int] | None:
    """The uncertain range of the head that made the reading: recorded on it since site adaptation;
    for older readings, the manifest's when it describes the model that made them."""
    if prediction is None:
        return None
    return prediction.review_band_percent or review_band(read_manifest(), prediction.model_version)


def review_band(manifest: dict, model_version: str) -> tuple[int, int] | None:
    """The uncertain range in percent, when the manifest describes the model that made the reading."""
    calibration = manifest.get("calibration") or {}
    try:
        if manifest.get("version") != model_version:
            return None
        return round(float(calibration["review_band"][0]) * 100), round(float(calibration["threshold"]) * 100)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
