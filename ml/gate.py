"""Out-of-distribution gate: refuse what is not a frontal chest X-ray, with a reason a person can act on.

Cheapest first:
1. the decoded pixels: colour, a blank image, a flat background (documents, screenshots);
2. the layout: a 16x16 thumbnail of the equalised image, scored against the training X-rays' thumbnails
   (a chest film has a stereotyped arrangement: dark lungs either side of a bright spine and heart);
3. the CNN's pooled features, scored the same way: catches what the model has never seen.
Both scores are Mahalanobis distances to a Gaussian fitted on training X-rays, with the refusal distance
set on the perturbed validation copies, so X-rays from other machines are not turned away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ml.errors import gettext_noop
from ml.images import DecodedImage
from ml.preprocessing import squash

COLOUR_PHOTO = gettext_noop(
    "This looks like a colour photograph or picture, not an X-ray. Upload the X-ray image file itself "
    "(exported from the X-ray system or viewer), not a photo of it."
)
BLANK = gettext_noop(
    "The image is blank or almost uniform. Check that you chose the right file and upload the X-ray again."
)
DOCUMENT = gettext_noop(
    "This looks like a document, screenshot or drawing, not an X-ray. Upload the X-ray image file itself."
)
NOT_A_CHEST_XRAY = gettext_noop(
    "This does not look like a frontal chest X-ray. This tool only reads front-view chest X-rays; "
    "photographs, other body parts and other kinds of scans (CT, MRI, ultrasound) cannot be read."
)
LAYOUT_SIZE = 16


@dataclass(frozen=True)
class GaussianScore:
    """Mahalanobis distance to a Gaussian fitted on genuine X-rays, and where refusal starts."""

    mean: np.ndarray
    precision: np.ndarray
    max_distance: float = np.inf

    def distances(self, features: np.ndarray) -> np.ndarray:
        centred = np.atleast_2d(features) - self.mean
        # A matrix product, not einsum: the same sums, computed by BLAS.
        return np.sqrt(np.maximum(((centred @ self.precision) * centred).sum(axis=1), 0.0))

    def refuses(self, features: np.ndarray) -> bool:
        return bool(self.distances(features)[0] > self.max_distance)

    @classmethod
    def fit(cls, features: np.ndarray, shrinkage: float) -> GaussianScore:
        mean = features.mean(axis=0)
        covariance = np.cov(features, rowvar=False)
        scale = np.trace(covariance) / len(mean)
        covariance = (1 - shrinkage) * covariance + shrinkage * scale * np.eye(len(mean))
        return cls(mean, np.linalg.inv(covariance))

    def with_threshold_keeping(self, genuine: np.ndarray, false_rejection: float, margin: float) -> GaussianScore:
        threshold = float(np.quantile(self.distances(genuine), 1 - false_rejection) * margin)
        return GaussianScore(self.mean, self.precision, threshold)


@dataclass(frozen=True)
class GateParameters:
    """Fitted by ml.export on the training split; stored in the artefacts as gate.npz."""

    embedding: GaussianScore
    layout: GaussianScore
    max_colourfulness: float = 0.04
    min_contrast: float = 0.02
    max_flat_fraction: float = 0.35

    def save(self, path) -> None:
        np.savez_compressed(
            path,
            embedding_mean=self.embedding.mean.astype(np.float32),
            embedding_precision=self.embedding.precision.astype(np.float32),
            layout_mean=self.layout.mean.astype(np.float32),
            layout_precision=self.layout.precision.astype(np.float32),
            scalars=np.array(
                [
                    self.embedding.max_distance,
                    self.layout.max_distance,
                    self.max_colourfulness,
                    self.min_contrast,
                    self.max_flat_fraction,
                ]
            ),
        )

    @classmethod
    def load(cls, path) -> GateParameters:
        with np.load(path) as stored:
            embedding_distance, layout_distance, colour, contrast, flat = stored["scalars"].tolist()
            return cls(
                GaussianScore(stored["embedding_mean"], stored["embedding_precision"], embedding_distance),
                GaussianScore(stored["layout_mean"], stored["layout_precision"], layout_distance),
                colour,
                contrast,
                flat,
            )

    @classmethod
    def accepting_everything(cls, embedding_size: int = 1) -> GateParameters:
        """A placeholder that refuses nothing on the model's features (used while fitting)."""
        open_score = lambda size: GaussianScore(np.zeros(size), np.eye(size))  # noqa: E731
        return cls(open_score(embedding_size), open_score(LAYOUT_SIZE * LAYOUT_SIZE))


def flat_fraction(grey: np.ndarray) -> float:
    """Share of pixels on the single most common of 64 grey levels: documents and UIs are mostly flat."""
    levels = np.clip((grey * 63).round().astype(np.int64), 0, 63)
    return float(np.bincount(levels.ravel(), minlength=64).max() / levels.size)


def layout(model_input: np.ndarray) -> np.ndarray:
    """The coarse arrangement of an equalised model input: its LAYOUT_SIZE x LAYOUT_SIZE box average."""
    image = Image.fromarray(np.asarray(model_input, dtype=np.float32).reshape(model_input.shape[:2]), mode="F")
    return np.asarray(image.resize((LAYOUT_SIZE, LAYOUT_SIZE), Image.Resampling.BOX), dtype=np.float32).ravel()


def image_reason(decoded: DecodedImage, parameters: GateParameters, small: np.ndarray | None = None) -> str | None:
    """Refusal reason from the pixels alone (no model needed), or None. `small`: the squashed grey image."""
    if decoded.colourfulness > parameters.max_colourfulness:
        return COLOUR_PHOTO
    small = squash(decoded.grey) if small is None else small
    if float(small.std()) < parameters.min_contrast:
        return BLANK
    if flat_fraction(small) > parameters.max_flat_fraction:
        return DOCUMENT
    return None


def model_reason(model_input: np.ndarray, embedding_distance: float, parameters: GateParameters) -> str | None:
    """Refusal reason from the image's layout and the CNN's features' distance, or None. The distance is
    the caller's (parameters.embedding.distances): a reading keeps it, for drift."""
    if parameters.layout.refuses(layout(model_input)) or embedding_distance > parameters.embedding.max_distance:
        return NOT_A_CHEST_XRAY
    return None
