"""Site adaptation end to end on a simulated site: `python bench/site_adaptation.py`.

The site: the films of the locked report split and the shift proxy's report half (never trained on,
no choice made on them), each as if taken by another hospital's machine (`site_film`: a softer
detector, grain, a tighter field, heavier JPEG). Halved by patient: half A is imported with
`import_reference_films` and adapted with `adapt_model --activate`; half B is uploaded through the API
as a three-year-old's X-rays with a real worker, once before the adaptation (the shipped head) and
once after it (the site's head). Prints both heads' figures on half B with 95 % patient-bootstrap
intervals. The cost of an import and of a fit alone is `bench/adaptation_cost.py`'s.

Every figure is from the training hospital's films under a simulated shift: an upper bound for a
real site, whose films differ in ways no simulation knows.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import WebServer, Worker  # noqa: E402
from bench.run import configure_environment, emit, make_patient  # noqa: E402

SITE_SEED = 2026
FIGURES = ("auc", "accuracy", "sensitivity", "specificity", "ece", "flagged_sensitivity", "normals_flagged")


def site_film(grey: np.ndarray, rng: np.random.Generator) -> bytes:
    """One film as the simulated site's machine would take it: none of ml.shift's families alone."""
    size = grey.shape[0]
    image = Image.fromarray(np.rint(np.clip(grey, 0, 1) * 255).astype(np.uint8), mode="L")
    width = int(size * rng.uniform(0.85, 0.95))
    left, top = (int(v) for v in rng.integers(0, size - width + 1, size=2))
    image = image.crop((left, top, left + width, top + width)).resize((size, size), Image.Resampling.BILINEAR)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.0)))
    values = np.asarray(image, dtype=np.float32) / 255.0
    values = np.clip(values + rng.normal(0, rng.uniform(0.02, 0.05), values.shape), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.rint(values * 255).astype(np.uint8)).save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def write_site(folder: Path) -> tuple[Path, list[tuple[Path, int, str]]]:
    """Half A as NORMAL/ and PNEUMONIA/ folders under `folder`; half B as (path, label, patient)."""
    from ml.adaptation import ReferenceSet, grouped_folds
    from ml.constants import ARTIFACTS_DIR, CLASS_NAMES, DEFAULT_DATA_DIR, SPLIT_NAME
    from ml.data import load_splits, load_squashed

    splits = load_splits(ARTIFACTS_DIR / SPLIT_NAME, DEFAULT_DATA_DIR)
    examples = splits["report"] + splits["proxy_report"]
    rng = np.random.default_rng(SITE_SEED)
    films = [site_film(grey, rng) for grey in load_squashed(examples)]
    labels = np.array([e.label for e in examples])
    groups = np.array([e.patient for e in examples])
    halves = grouped_folds(ReferenceSet(labels, labels, np.zeros((len(labels), 1)), groups, labels * 0 + 1), 2, 7)
    half_b = []
    for half, index in zip(("A", "B"), halves, strict=True):
        for i in index:
            path = folder / half / CLASS_NAMES[labels[i]] / examples[i].path.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(films[i])
            if half == "B":
                half_b.append((path, int(labels[i]), groups[i]))
    return folder / "A", half_b


def upload_all(server, key: str, films: list[tuple[Path, int, str]]) -> list[dict]:
    """Upload every film through the API and wait for each reading."""
    headers = {"Authorization": f"Token {key}"}
    ids = []
    for path, _, _ in films:
        answer = requests.post(
            f"{server.url}/api/v1/scans/", headers=headers, files={"image": (path.name, path.read_bytes())}
        )
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    readings = []
    for scan_id in ids:
        while True:
            scan = requests.get(f"{server.url}/api/v1/scans/{scan_id}/", headers=headers).json()
            if scan["status"] not in ("queued", "processing"):
                break
            time.sleep(0.2)
        readings.append(scan)
    return readings


def head_figures(films, readings) -> dict:
    """Figures of one pass over half B: each reading's probability, its call and whether it is flagged."""
    from ml.adaptation import ReferenceSet, with_intervals

    kept = [(film, reading) for film, reading in zip(films, readings, strict=True) if reading["status"] == "done"]
    labels = np.array([film[1] for film, _ in kept])
    groups = np.array([film[2] for film, _ in kept])
    predictions = [reading["prediction"] for _, reading in kept]
    probabilities = np.array([p["probability"] for p in predictions])
    called = np.array([p["label"] == "pneumonia" for p in predictions])
    flagged = np.array([p["needs_review"] for p in predictions])
    cases = ReferenceSet(labels, probabilities, np.zeros((len(labels), 1)), groups, np.ones(len(labels)))
    result = with_intervals(cases, {"head": (probabilities, flagged, called)}, seed=0)["head"]
    return {
        "films": len(kept),
        "refused": len(films) - len(kept),
        "model_version": predictions[0]["model_version"] if predictions else "",
        **{name: result[name] for name in FIGURES},
    }


def run_command(*args) -> tuple[float, str]:
    from django.core.management import CommandError, call_command

    output = io.StringIO()
    started = time.perf_counter()
    try:
        call_command(*args, stdout=output)
    except CommandError as refusal:  # adapt_model exits 2 when the guardrails refuse
        output.write(f"\n{refusal} (exit {refusal.returncode})")
    return time.perf_counter() - started, output.getvalue()


def bench_site(var: Path) -> None:
    from patients.models import Patient

    with tempfile.TemporaryDirectory(prefix="simulated-site-") as folder:
        half_a, half_b = write_site(Path(folder))
        parent, key = make_patient("site")
        Patient.objects.filter(owner=parent).update(date_of_birth=_three_years_ago())
        server, worker = WebServer(var / "gunicorn.log", workers=2), Worker(var / "worker.log")
        try:
            before = upload_all(server, key, half_b)
            seconds, printed = run_command("import_reference_films", str(half_a))
            films_a = sum(1 for _ in half_a.rglob("*.jpeg"))
            emit(
                "site adaptation",
                "import",
                films=films_a,
                seconds=round(seconds, 1),
                films_per_s=round(films_a / seconds, 1),
            )
            print(printed)
            seconds, printed = run_command("adapt_model", "--activate")
            emit("site adaptation", "adapt", cases=films_a, seconds=round(seconds, 1))
            print(printed)
            after = upload_all(server, key, half_b)
        finally:
            worker.stop()
            server.stop()
    for name, readings in (("shipped", before), ("adapted", after)):
        emit("site adaptation", f"half B, {name} head", **head_figures(half_b, readings))


def _three_years_ago():
    from datetime import timedelta

    from django.utils import timezone

    return timezone.localdate() - timedelta(days=3 * 365 + 30)


def main(argv=None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    configure_environment()
    bench_site(Path(os.environ["PORTAL_VAR_DIR"]))


if __name__ == "__main__":
    main()
