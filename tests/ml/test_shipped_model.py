"""The model committed in ml/artifacts: it ranks pneumonia above normal, gates non-X-rays, and its CLI."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.constants import ARTIFACTS_DIR, IMAGE_SIZE, MANIFEST_NAME, SPLIT_NAME
from ml.data import load_splits
from ml.ood import GENERATORS, constructed_set
from ml.predict import CSV_HEADER
from ml.predictor import Predictor
from tests import tiers
from tests.ml.conftest import encode

SAMPLE_PER_CLASS = 40


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


@pytest.fixture(scope="module")
def validation_sample(shared_data_dir):
    """A fixed sample of the locked report split, which the model never trained on and no choice used."""
    validation = load_splits(ARTIFACTS_DIR / SPLIT_NAME, shared_data_dir)["report"]
    rng = np.random.default_rng(7)
    sample = []
    for label in (0, 1):
        members = [e for e in validation if e.label == label]
        sample += [members[i] for i in rng.choice(len(members), SAMPLE_PER_CLASS, replace=False)]
    return sample


def test_manifest_describes_the_shipped_model(predictor):
    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    assert predictor.model_path == ARTIFACTS_DIR / manifest["serving_model"]
    assert manifest["input"]["size"] == [IMAGE_SIZE, IMAGE_SIZE, 1]
    for key in ("version", "serving_sha256", "calibration", "metrics", "data", "training_command", "created"):
        assert manifest[key], key


def test_shipped_files_match_their_recorded_checksums():
    import hashlib

    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    served = (ARTIFACTS_DIR / manifest["serving_model"]).read_bytes()
    assert hashlib.sha256(served).hexdigest() == manifest["serving_sha256"]
    total = sum(p.stat().st_size for p in ARTIFACTS_DIR.iterdir())
    assert total < 20 * 1024 * 1024


def test_shipped_model_ranks_pneumonia_above_normal(predictor, validation_sample):
    scored = [(e.label, r.probability) for e in validation_sample if not (r := predictor.predict(e.path)).rejected]
    assert len(scored) >= len(validation_sample) - 1  # the gate may turn away one genuine X-ray in 80
    labels, probabilities = zip(*scored, strict=True)
    assert roc_auc_score(labels, probabilities) > 0.95


def test_every_reading_carries_a_heatmap_aligned_with_the_input(predictor, xray_path):
    reading = predictor.predict(xray_path)
    assert reading.heatmap.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert 0.0 <= reading.heatmap.min() <= reading.heatmap.max() <= 1.0
    assert reading.model_version == predictor.version


def test_screening_band_flags_pneumonia_and_indeterminate_for_review(predictor):
    assert predictor.review_from <= predictor.threshold
    cam = np.zeros((7, 7))
    positive = predictor.reading_from_logits(20.0, cam, {})
    negative = predictor.reading_from_logits(-20.0, cam, {})
    assert (positive.label, positive.needs_review) == ("pneumonia", True)
    assert (negative.label, negative.needs_review) == ("normal", False)


@pytest.fixture(scope="module")
def non_xrays():
    return constructed_set(generated_per_kind=10)


@pytest.mark.parametrize("category", sorted(GENERATORS))
def test_gate_rejects_generated_non_xrays(predictor, non_xrays, category):
    items = [item for item in non_xrays if item.category == category]
    rejected = [predictor.predict(item.data).rejected for item in items]
    assert np.mean(rejected) >= 0.9, category


def test_gate_explains_a_colour_photograph(predictor):
    rng = np.random.default_rng(3)
    photo = np.dstack([np.tile(np.linspace(0, 255, 400), (300, 1))] * 2 + [rng.integers(0, 255, (300, 400))])
    reading = predictor.predict(encode_array(photo.astype(np.uint8)))
    assert reading.rejected
    assert "colour photograph" in reading.reason


def test_gate_keeps_genuine_xrays(predictor, validation_sample):
    rejected = [predictor.predict(e.path).rejected for e in validation_sample]
    assert sum(rejected) <= 1


def encode_array(array):
    from PIL import Image

    return encode(Image.fromarray(array), "PNG")


@pytest.mark.processes
def test_cli_prints_the_documented_csv(xray_path, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    missing = tmp_path / "missing.png"
    tiers.requires("processes", "python -m ml.predict")
    completed = subprocess.run(
        [sys.executable, "-m", "ml.predict", str(xray_path), str(broken), str(missing), "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = completed.stdout.splitlines()
    assert lines[0] == ",".join(CSV_HEADER)
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    assert [r["path"] for r in rows] == [str(xray_path), str(broken), str(missing)]
    ok, bad, gone = rows
    assert ok["status"] == "ok" and ok["label"] in ("normal", "pneumonia") and ok["needs_review"] in ("true", "false")
    assert 0.0 <= float(ok["probability"]) <= 1.0
    assert bad["status"] == gone["status"] == "rejected"
    assert bad["reason"] and gone["reason"] and bad["probability"] == ""


def test_report_prints_the_manifests_figures_as_markdown(capsys):
    from ml.report import main

    main([])
    printed = capsys.readouterr().out
    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    assert manifest["version"] in printed
    assert f"{manifest['metrics']['report']['auc']:.3f}" in printed
    assert f"{manifest['metrics']['proxy_report']['auc']:.3f}" in printed
    assert "| **all** |" in printed


def test_the_model_card_shows_the_shipped_models_locked_split_and_proxy_figures():
    from ml.report import metrics_table, shift_table

    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    card = (ARTIFACTS_DIR.parent / "MODEL_CARD.md").read_text()
    assert manifest["version"] in card
    for line in metrics_table(manifest).splitlines()[2:8]:  # the six sets' rows, as ml.report prints them
        assert line in card, line
    for line in shift_table(manifest).splitlines()[2:]:
        assert line in card, line
