"""The real training, export and serving code path on a few dozen shared images (minutes, not hours)."""

import json

import numpy as np
import pytest

from ml import calibration, gate
from ml.preprocessing import decode, squash, to_model_input

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_artifacts(tmp_path_factory, shared_data_dir):
    from ml import train

    out = tmp_path_factory.mktemp("smoke-model")
    train.main(["--data", str(shared_data_dir), "--out", str(out), "--epochs", "1", "--limit", "24"])
    return out


def test_a_short_training_run_writes_every_artefact(smoke_artifacts):
    for name in ("model.keras", "model.tflite", "gate.npz", "manifest.json", "model-history.csv", "model-run.json"):
        assert (smoke_artifacts / name).stat().st_size > 0, name
    manifest = json.loads((smoke_artifacts / "manifest.json").read_text())
    assert manifest["split"]["train"]["images"] == 48
    assert manifest["calibration"]["temperature"] > 0
    low, high = manifest["calibration"]["review_band"]
    assert 0 <= low <= high == manifest["calibration"]["threshold"] <= 1
    assert set(manifest["metrics"]) == {
        "report", "proxy_report", "report_perturbed", "selection", "proxy_selection", "report_shifted",
    }  # fmt: skip
    assert manifest["version"].startswith("pneumonia-cnn-2.1+")
    assert set(manifest["shift_families"]) == set(calibration.SHIFTS)
    assert manifest["calibration"]["fitted_on"] == list(calibration.FITTED_ON)
    assert manifest["heatmap"]["source"] in ("cam", "cam_fine")
    assert set(manifest["heatmap"]["reported"]) == {"report", "proxy_report"}
    assert manifest["training"][0]["recipe"]["mixup_alpha"] > 0


def test_the_exported_model_serves_a_reading_without_tensorflow_state(smoke_artifacts, xray_path):
    from ml.predictor import Predictor

    predictor = Predictor.load(smoke_artifacts)
    # Past the gate: whether a one-epoch model's gate lets this film through is not fixed, and the gate
    # has its own test below; the reading itself is made as predict() makes it.
    outputs = predictor.run_model(to_model_input(squash(decode(xray_path).grey))[np.newaxis])
    reading = predictor.reading_from_logits(
        float(outputs["logit"][0, 0]), outputs[predictor.heatmap_source][0], {}, embedding=outputs["embedding"][0]
    )

    assert not reading.rejected
    assert 0.0 <= reading.probability <= 1.0 and reading.label in ("normal", "pneumonia")
    assert reading.heatmap.shape == (224, 224)


def test_the_exported_models_gate_refuses_a_document_with_a_readable_reason(smoke_artifacts, document_bytes):
    from ml.predictor import Predictor

    reading = Predictor.load(smoke_artifacts).predict(document_bytes)

    assert reading.rejected and reading.reason == gate.DOCUMENT


def test_the_litert_model_matches_the_keras_checkpoint(smoke_artifacts):
    import keras

    from ml.predictor import Predictor

    batch = np.random.default_rng(0).random((1, 224, 224, 1), dtype=np.float32)
    expected = keras.models.load_model(smoke_artifacts / "model.keras")(batch, training=False)
    served = Predictor.load(smoke_artifacts).run_model(batch)
    for name in ("logit", "cam", "cam_fine", "embedding"):
        np.testing.assert_allclose(served[name], np.asarray(expected[name]), atol=1e-3)


def test_evaluate_writes_metrics_and_plots_for_a_labelled_folder(smoke_artifacts, shared_data_dir, tmp_path):
    from ml.evaluate import evaluate
    from ml.predictor import Predictor

    folder = tmp_path / "data"
    for class_name in ("NORMAL", "PNEUMONIA"):
        (folder / class_name).mkdir(parents=True)
        for source in sorted((shared_data_dir / class_name).iterdir())[:6]:
            (folder / class_name / source.name).write_bytes(source.read_bytes())
    report = evaluate(Predictor.load(smoke_artifacts), folder, tmp_path / "out")
    assert report["images"] + report["rejected_by_gate"] == 12
    for name in ("metrics.json", "roc.png", "pr.png", "reliability.png", "confusion.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
