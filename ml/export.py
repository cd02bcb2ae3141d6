"""Build the serving artefacts from a trained checkpoint: `python -m ml.export [--out DIR]`.

Exports the LiteRT model, fits the out-of-distribution gate and the calibration on the training and
validation splits only, then measures the exported model end to end through `Predictor` (validation
metrics, gate figures on the constructed set, latency) and writes everything into manifest.json.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from ml import calibration, constants, gate, metrics  # noqa: E402
from ml.data import list_examples, load_squashed, split_by_patient  # noqa: E402
from ml.ood import constructed_set  # noqa: E402
from ml.predictor import Predictor  # noqa: E402
from ml.shift import harder_copies  # noqa: E402

log = logging.getLogger("ml.export")
GATE_NAME = "gate.npz"
MODEL_VERSION_PREFIX = "pneumonia-cnn-1"
TRAINING_COMMAND = (
    "python -m ml.train --skip-export --log .cache/train.log && "
    "python -m ml.train --name model-b --seed 2024 --skip-export --log .cache/train-b.log && "
    "python -m ml.export"
)
TRAINING_DATA = (
    "Kermany et al. 2018 pediatric chest X-ray training split (5,216 anterior-posterior radiographs of "
    "children aged 1-5, Guangzhou Women and Children's Medical Center), split by patient into "
    "training and validation; the official test split was never used."
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoints_in(out_dir: Path) -> list[Path]:
    return sorted(Path(out_dir).glob("model*.keras"))


def serving_model(checkpoints: list[Path]):
    """One Keras model for serving: the checkpoint itself, or the average of several (an ensemble).

    Members are averaged on the logit and the CAM (both linear in the same units) and their pooled
    features are concatenated for the gate, so one LiteRT invocation runs them all.
    """
    import keras

    members = [keras.models.load_model(path) for path in checkpoints]
    if len(members) == 1:
        return members[0]
    image = keras.Input((constants.IMAGE_SIZE, constants.IMAGE_SIZE, 1), name="image")
    outputs = []
    for index, member in enumerate(members):
        member.name = f"member{index}"
        outputs.append(member(image))
    return keras.Model(
        image,
        {
            "logit": keras.layers.Average(name="logit")([o["logit"] for o in outputs]),
            "cam": keras.layers.Average(name="cam")([o["cam"] for o in outputs]),
            "embedding": keras.layers.Concatenate(name="embedding")([o["embedding"] for o in outputs]),
        },
    )


def export_litert(checkpoints: list[Path], out_dir: Path) -> Path:
    """LiteRT file with float16 weights (half the size; computed in float32, same readings)."""
    import tensorflow as tf

    target = out_dir / constants.SERVING_MODEL_NAME
    serving_model(checkpoints).export(
        str(target),
        format="litert",
        verbose=False,
        optimizations=[tf.lite.Optimize.DEFAULT],
        target_spec={"supported_types": [tf.float16]},
    )
    return target


def training_runs(checkpoints: list[Path]) -> list[dict]:
    runs = []
    for checkpoint in checkpoints:
        path = checkpoint.with_name(f"{checkpoint.stem}-run.json")
        runs.append(json.loads(path.read_text()) if path.exists() else {"checkpoint": checkpoint.name})
    return runs


def run_batches(predictor: Predictor, images: np.ndarray) -> dict[str, np.ndarray]:
    outputs = [predictor.run_model(image[np.newaxis]) for image in images]
    return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}


def fit_image_rules(train_grey: np.ndarray) -> dict:
    """Pixel-statistics limits well outside every genuine training X-ray."""
    greys = train_grey.astype(np.float32) / 255.0
    flat = np.array([gate.flat_fraction(g) for g in greys])
    contrast = greys.reshape(len(greys), -1).std(axis=1)
    return {
        "max_flat_fraction": float(max(0.35, 1.25 * np.quantile(flat, 0.999))),
        "min_contrast": float(min(0.02, 0.5 * np.quantile(contrast, 0.001))),
        "training_flat_fraction_max": float(flat.max()),
        "training_contrast_min": float(contrast.min()),
    }


def fit_gate(images: dict[str, np.ndarray], outputs: dict[str, dict], rules: dict) -> gate.GateParameters:
    """Gaussians on the training split; each refusal distance keeps all but GATE_FALSE_REJECTION / 2 of
    the perturbed validation copies (X-rays as other machines might make them), plus a 5 % margin."""
    keep = constants.GATE_FALSE_REJECTION / 2
    layouts = {name: np.stack([gate.layout(image) for image in batch]) for name, batch in images.items()}
    layout = gate.GaussianScore.fit(layouts["train"], shrinkage=0.5)
    embedding = gate.GaussianScore.fit(outputs["train"]["embedding"], shrinkage=0.1)
    return gate.GateParameters(
        embedding.with_threshold_keeping(outputs["hard"]["embedding"], keep, margin=1.05),
        layout.with_threshold_keeping(layouts["hard"], keep, margin=1.05),
        min_contrast=rules["min_contrast"],
        max_flat_fraction=rules["max_flat_fraction"],
    )


def gate_report(predictor: Predictor, validation_paths: list[Path]) -> dict:
    items = constructed_set()
    by_category: dict[str, list[bool]] = {}
    for item in items:
        by_category.setdefault(item.category, []).append(predictor.predict(item.data).rejected)
    genuine = [predictor.predict(path).rejected for path in validation_paths]
    return {
        "constructed_set": {
            "images": len(items),
            "rejected": float(np.mean([r for v in by_category.values() for r in v])),
            "rejected_by_category": {
                k: {"images": len(v), "rejected": float(np.mean(v))} for k, v in by_category.items()
            },
        },
        "genuine_validation_xrays_rejected": float(np.mean(genuine)),
        "genuine_validation_xrays": len(genuine),
    }


def latency_ms(predictor: Predictor, path: Path, repeats: int = 200) -> dict:
    data = path.read_bytes()
    for _ in range(10):
        predictor.predict(data)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predictor.predict(data)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50": float(np.median(times)),
        "p95": float(np.quantile(times, 0.95)),
        "image": "224x224 JPEG",
        "threads": 1,
    }


def build_artifacts(
    out_dir: Path, data_dir: Path = constants.DEFAULT_DATA_DIR, limit: int | None = None, checkpoints=None
) -> dict:
    from ml.train import CACHE_DIR, _first_per_class, equalised_batch

    out_dir = Path(out_dir)
    train, validation = split_by_patient(list_examples(data_dir))
    if limit:
        train, validation = _first_per_class(train, limit), _first_per_class(validation, max(4, limit // 2))
    checkpoints = [Path(c) for c in checkpoints] if checkpoints else checkpoints_in(out_dir)
    serving_path = export_litert(checkpoints, out_dir)
    log.info("exported %s", serving_path)

    train_grey = load_squashed(train, CACHE_DIR)
    validation_grey = load_squashed(validation, CACHE_DIR)
    hard_grey = harder_copies(validation_grey.astype(np.float32) / 255.0)
    validation_labels = np.array([e.label for e in validation])
    hard_labels = np.repeat(validation_labels, len(hard_grey) // len(validation_grey))

    # A provisional manifest lets the real Predictor run the exported model for fitting.
    manifest = {
        "version": f"{MODEL_VERSION_PREFIX}+{sha256(serving_path)[:12]}",
        "serving_model": serving_path.name,
        "calibration": {"temperature": 1.0, "bias": 0.0, "threshold": 0.5, "review_band": [0.5, 0.5]},
        "gate": {"file": GATE_NAME},
    }
    gate.GateParameters.accepting_everything().save(out_dir / GATE_NAME)
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest))
    predictor = Predictor.load(out_dir)

    train_images, hard_images = equalised_batch(train_grey), equalised_batch(hard_grey)
    train_out = run_batches(predictor, train_images)
    validation_out = run_batches(predictor, equalised_batch(validation_grey))
    hard_out = run_batches(predictor, hard_images)

    rules = fit_image_rules(train_grey)
    fitted_gate = fit_gate({"train": train_images, "hard": hard_images}, {"train": train_out, "hard": hard_out}, rules)
    fitted_gate.save(out_dir / GATE_NAME)
    perturbed_rejected = np.mean(
        [
            gate.model_reason(x, e, fitted_gate) is not None
            for x, e in zip(hard_images, hard_out["embedding"], strict=True)
        ]
    )

    logits = {"validation": validation_out["logit"].ravel(), "hard": hard_out["logit"].ravel()}
    temperature, bias = calibration.fit_temperature(
        np.concatenate([validation_labels, hard_labels]), np.concatenate([logits["validation"], logits["hard"]])
    )
    probabilities = {k: calibration.calibrated(v, temperature, bias) for k, v in logits.items()}
    points = calibration.choose_operating_points(
        [validation_labels, hard_labels], [probabilities["validation"], probabilities["hard"]]
    )
    manifest["calibration"] = {
        "temperature": temperature,
        "bias": bias,
        **points,
        "sensitivity_target": calibration.SENSITIVITY_TARGET,
        "screening_sensitivity": constants.SCREENING_SENSITIVITY,
    }
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest))
    predictor = Predictor.load(out_dir)

    validation_paths = [e.path for e in validation]
    served = [predictor.predict(path) for path in validation_paths]
    served_probabilities = np.array([r.probability if not r.rejected else np.nan for r in served])
    kept = ~np.isnan(served_probabilities)
    runs = training_runs(checkpoints)
    manifest.update(
        {
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "serving_sha256": sha256(serving_path),
            "checkpoints": {c.name: sha256(c) for c in checkpoints},
            "ensemble_members": len(checkpoints),
            "input": {
                "size": [constants.IMAGE_SIZE, constants.IMAGE_SIZE, 1],
                "preprocessing": "grey, squashed (not cropped), histogram-equalised on 256 levels, [0, 1]",
            },
            "gate": {
                "file": GATE_NAME,
                "max_embedding_distance": fitted_gate.embedding.max_distance,
                "max_layout_distance": fitted_gate.layout.max_distance,
                "perturbed_validation_xrays_rejected": float(perturbed_rejected),
                **rules,
                **gate_report(predictor, validation_paths),
            },
            "metrics": {
                "validation": metrics.summary(
                    validation_labels[kept], served_probabilities[kept], points["threshold"], points["review_band"][0]
                ),
                "harder_validation": metrics.summary(
                    hard_labels, probabilities["hard"], points["threshold"], points["review_band"][0]
                ),
            },
            "latency_ms": latency_ms(predictor, validation_paths[0]),
            "data": TRAINING_DATA,
            "split": runs[0].get("split"),
            "training": [{k: v for k, v in run.items() if k != "split"} for run in runs],
            "training_command": TRAINING_COMMAND,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        }
    )
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("wrote %s", out_dir / constants.MANIFEST_NAME)
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=constants.ARTIFACTS_DIR)
    parser.add_argument("--data", type=Path, default=constants.DEFAULT_DATA_DIR)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--checkpoints", type=Path, nargs="*", help="default: every model*.keras in --out")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    manifest = build_artifacts(args.out, args.data, args.limit, args.checkpoints)
    print(json.dumps({k: manifest[k] for k in ("version", "calibration", "metrics", "latency_ms")}, indent=2))


if __name__ == "__main__":
    main()
