"""Build the serving artefacts from trained checkpoints: `python -m ml.export [--out DIR]`.

Exports the LiteRT model; fits the out-of-distribution gate on the training split, and the calibration,
thresholds and heatmap source on the selection splits (plain and shift proxy); then measures the
exported model end to end through `Predictor` on the locked report splits, which no choice touched,
and writes everything into manifest.json (plus reliability diagrams beside it).
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

from ml import calibration, constants, faithfulness, gate, metrics  # noqa: E402
from ml.data import describe, load_model_inputs, load_squashed, locked_splits, smoke_subset  # noqa: E402
from ml.ood import constructed_set  # noqa: E402
from ml.predictor import Predictor  # noqa: E402
from ml.preprocessing import preprocess  # noqa: E402
from ml.shift import family_copies, harder_copies  # noqa: E402

log = logging.getLogger("ml.export")
GATE_NAME = "gate.npz"
# 2.1: v2's network with the out-of-the-box calibration fitted under shift (ml.calibration).
MODEL_VERSION_PREFIX = "pneumonia-cnn-2.1"
HEATMAP_SOURCES = ("cam", "cam_fine")
SERVED_OUTPUTS = ("logit", "cam", "cam_fine", "embedding")
TRAINING_COMMAND = (
    "TF_NUM_INTRAOP_THREADS=1 python -m ml.train --epochs 45 --skip-export --log .cache/train.log & "
    "TF_NUM_INTRAOP_THREADS=1 python -m ml.train --epochs 45 --name model-plain --mixup 0 --erasing 0 --ema 0 "
    "--monitor-every 5 --skip-export --log .cache/train-plain.log; wait; python -m ml.export --figures docs/model"
)
TRAINING_DATA = (
    "Kermany et al. 2018 pediatric chest X-ray training split (5,216 anterior-posterior radiographs of "
    "children aged 1-5, Guangzhou Women and Children's Medical Center), split by patient into training, "
    "selection, a locked report split and a held-out shift proxy (atypical acquisition clusters); the "
    "official test split was never used."
)
# What each reported set is, in the words the model card uses.
REPORTED_SETS = {
    "report": "locked report split",
    "proxy_report": "shift proxy, report half",
    "report_perturbed": "locked report split, perturbed copies",
    "selection": "selection split (optimistic: choices were made on it)",
    "proxy_selection": "shift proxy, selection half (optimistic: choices were made on it)",
    "report_shifted": "locked report split and shift proxy report half, under every acquisition shift family",
}
REPORT_SETS = ("report", "proxy_report")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoints_in(out_dir: Path) -> list[Path]:
    return sorted(Path(out_dir).glob("model*.keras"))


def serving_model(checkpoints: list[Path]):
    """One Keras model for serving: the members averaged (an ensemble) with the served outputs only.

    Members are averaged on the logit and the CAMs (linear, in the same units) and their pooled
    features are concatenated for the gate, so one LiteRT invocation runs them all.
    """
    import keras

    members = [keras.models.load_model(path) for path in checkpoints]
    image = keras.Input((constants.IMAGE_SIZE, constants.IMAGE_SIZE, 1), name="image")
    outputs = []
    for index, member in enumerate(members):
        member.name = f"member{index}"
        outputs.append(member(image))

    def combined(name, layer):
        values = [o[name] for o in outputs]
        return values[0] if len(values) == 1 else layer(name=name)(values)

    return keras.Model(
        image,
        {
            "logit": combined("logit", keras.layers.Average),
            "cam": combined("cam", keras.layers.Average),
            "cam_fine": combined("cam_fine", keras.layers.Average),
            "embedding": combined("embedding", keras.layers.Concatenate),
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
    flat = np.array([gate.flat_fraction(g) for g in train_grey])
    contrast = train_grey.reshape(len(train_grey), -1).std(axis=1)
    return {
        "max_flat_fraction": float(max(0.35, 1.25 * np.quantile(flat, 0.999))),
        "min_contrast": float(min(0.02, 0.5 * np.quantile(contrast, 0.001))),
        "training_flat_fraction_max": float(flat.max()),
        "training_contrast_min": float(contrast.min()),
    }


def fit_gate(images: dict[str, np.ndarray], outputs: dict[str, dict], rules: dict) -> gate.GateParameters:
    """Gaussians on the training split; each refusal distance keeps all but GATE_FALSE_REJECTION / 2 of
    the held-out genuine X-rays (selection, shift proxy and perturbed copies), plus a 5 % margin."""
    keep = constants.GATE_FALSE_REJECTION / 2
    layouts = {name: np.stack([gate.layout(image) for image in batch]) for name, batch in images.items()}
    layout = gate.GaussianScore.fit(layouts["train"], shrinkage=0.5)
    embedding = gate.GaussianScore.fit(outputs["train"]["embedding"], shrinkage=0.1)
    return gate.GateParameters(
        embedding.with_threshold_keeping(outputs["held_out"]["embedding"], keep, margin=1.05),
        layout.with_threshold_keeping(layouts["held_out"], keep, margin=1.05),
        min_contrast=rules["min_contrast"],
        max_flat_fraction=rules["max_flat_fraction"],
    )


def constructed_set_report(predictor: Predictor) -> dict:
    by_category: dict[str, list[bool]] = {}
    for item in constructed_set():
        by_category.setdefault(item.category, []).append(predictor.predict(item.data).rejected)
    return {
        "images": sum(len(v) for v in by_category.values()),
        "rejected": float(np.mean([r for v in by_category.values() for r in v])),
        "rejected_by_category": {k: {"images": len(v), "rejected": float(np.mean(v))} for k, v in by_category.items()},
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


def served_readings(predictor: Predictor, sources: list, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(labels, probabilities) of the films the portal would read, end to end, and how many it refused."""
    readings = [predictor.predict(source) for source in sources]
    kept = np.array([not r.rejected for r in readings])
    probabilities = np.array([r.probability for r in readings if not r.rejected])
    return labels[kept], probabilities, int((~kept).sum())


def provisional_predictor(out_dir: Path, serving_path: Path) -> Predictor:
    """The real Predictor over the exported model, before its gate and calibration are fitted."""
    manifest = {
        "version": f"{MODEL_VERSION_PREFIX}+{sha256(serving_path)[:12]}",
        "serving_model": serving_path.name,
        "calibration": {"temperature": 1.0, "bias": 0.0, "threshold": 0.5, "review_band": [0.5, 0.5]},
        "gate": {"file": GATE_NAME},
    }
    gate.GateParameters.accepting_everything().save(out_dir / GATE_NAME)
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest))
    return Predictor.load(out_dir)


def choose_heatmap_source(predictor: Predictor, inputs: np.ndarray, outputs: dict) -> tuple[str, dict]:
    """The CAM whose hottest 10 % and 20 % cost the most probability beyond random regions of the same
    size, on average over both shares, on the selection split's pneumonia films."""
    results = {
        source: faithfulness.deletion_test(probability_of(predictor), inputs, outputs[source])
        for source in HEATMAP_SOURCES
    }
    return max(results, key=lambda source: faithfulness.excess_drop(results[source])), results


def probability_of(predictor: Predictor):
    return lambda batch: predictor.calibrate(run_batches(predictor, batch)["logit"].ravel())


def shifted_sources(splits: dict, names) -> dict[str, list]:
    """Each named split's files as they are, and as JPEGs under every shift ("selection/blur", ...)."""
    sources = {}
    for name in names:
        sources[name] = [e.path for e in splits[name]]
        greys = load_squashed(splits[name])
        for shift in calibration.SHIFTS:
            sources[f"{name}/{shift}"] = family_copies(greys, shift)
    return sources


def served_logits(predictor: Predictor, sources: list, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, raw logits) of the films the gate lets through, read end to end as the portal reads."""
    readings = [predictor.predict(source) for source in sources]
    kept = np.array([not r.rejected for r in readings])
    return labels[kept], np.array([r.logit for r in readings if not r.rejected])


def calibrate_and_report(out_dir: Path, splits: dict, figures_dir: Path | None = None) -> dict:
    """Fit the out-of-the-box calibration on the FITTED_ON sets (ml.calibration), then read every
    reported set end to end through the calibrated Predictor, and write both into the manifest.

    Needs only the serving model and its gate, so `--calibration-only` refits a shipped model."""
    manifest = json.loads((out_dir / constants.MANIFEST_NAME).read_text())
    predictor = Predictor.load(out_dir)
    labels = {name: np.array([e.label for e in members]) for name, members in splits.items()}
    for name in list(labels):
        for shift in calibration.SHIFTS:
            labels[f"{name}/{shift}"] = labels[name]
    fit_sources = shifted_sources(splits, calibration.SELECTION_SETS)
    fit_labels, fit_logits = {}, {}
    for name in calibration.FITTED_ON:
        fit_labels[name], fit_logits[name] = served_logits(predictor, fit_sources[name], labels[name])
    temperature, bias, points = calibration.fit(fit_labels, fit_logits)
    manifest["version"] = f"{MODEL_VERSION_PREFIX}+{sha256(out_dir / manifest['serving_model'])[:12]}"
    manifest["calibration"] = {
        "temperature": temperature,
        "bias": bias,
        **points,
        "threshold_rule": calibration.THRESHOLD_RULE,
        "screening_sensitivity": constants.SCREENING_SENSITIVITY,
        "review_band_sensitivity": constants.REVIEW_BAND_SENSITIVITY,
        "fitted_on": list(calibration.FITTED_ON),
    }
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    predictor = Predictor.load(out_dir)

    shifted = shifted_sources(splits, REPORT_SETS)
    sources = {
        "report": shifted["report"],
        "proxy_report": shifted["proxy_report"],
        "report_perturbed": harder_copies(load_squashed(splits["report"])),
        "selection": fit_sources["selection"],
        "proxy_selection": fit_sources["proxy_selection"],
    }
    labels["report_perturbed"] = np.repeat(labels["report"], 2)
    threshold, review_from = points["threshold"], points["review_band"][0]
    reported, curves = {}, {}
    for name, files in sources.items():
        kept_labels, kept_probabilities, refused = served_readings(predictor, files, labels[name])
        reported[name] = {
            "description": REPORTED_SETS[name],
            "refused_by_gate": refused,
            **metrics.summary(kept_labels, kept_probabilities, threshold, review_from),
        }
        curves[name] = (kept_labels, kept_probabilities)
    by_shift, pooled = {}, ([], [], [])
    for shift in calibration.SHIFTS:
        read = [served_readings(predictor, shifted[f"{n}/{shift}"], labels[n]) for n in REPORT_SETS]
        shift_labels = np.concatenate([r[0] for r in read])
        shift_probabilities = np.concatenate([r[1] for r in read])
        figures = metrics.summary(shift_labels, shift_probabilities, threshold, review_from)
        by_shift[shift] = {k: figures[k] for k in ("images", "auc", "accuracy", "sensitivity", "specificity", "ece")}
        by_shift[shift]["flagged_for_review"] = figures["flagged_for_review"]
        by_shift[shift]["refused_by_gate"] = sum(r[2] for r in read)
        pooled[0].append(shift_labels)
        pooled[1].append(shift_probabilities)
        pooled[2].append(by_shift[shift]["refused_by_gate"])
    reported["report_shifted"] = {
        "description": REPORTED_SETS["report_shifted"],
        "refused_by_gate": sum(pooled[2]),
        **metrics.summary(np.concatenate(pooled[0]), np.concatenate(pooled[1]), threshold, review_from),
    }
    manifest["metrics"] = reported
    manifest["shift_families"] = by_shift
    if figures_dir is not None:
        from ml.evaluate import plot_reliability

        figures_dir.mkdir(parents=True, exist_ok=True)
        for name in REPORT_SETS:
            plot_reliability(
                *curves[name],
                figures_dir / f"reliability-{name.replace('_', '-')}.png",
                title=f"Reliability, {REPORTED_SETS[name]}",
            )
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def genuine_refusals(reported: dict) -> dict:
    names = ("report", "proxy_report", "report_perturbed")
    genuine = sum(reported[n]["images"] + reported[n]["refused_by_gate"] for n in names)
    refused = sum(reported[n]["refused_by_gate"] for n in names)
    return {"genuine_report_xrays_refused": refused / max(1, genuine), "genuine_report_xrays": genuine}


def recalibrate(out_dir: Path, data_dir: Path, split_path: Path, figures_dir: Path | None = None) -> dict:
    """`--calibration-only`: refit the calibration of the artefacts in out_dir and re-measure them,
    keeping the network, the gate and the heatmap choice."""
    before = json.loads((out_dir / constants.MANIFEST_NAME).read_text())
    manifest = calibrate_and_report(out_dir, locked_splits(data_dir, split_path), figures_dir)
    if before["calibration"] != manifest["calibration"]:  # scripts/compare_calibrations.py reads both
        manifest["replaces"] = {"version": before["version"], "calibration": before["calibration"]}
    manifest["gate"].update(genuine_refusals(manifest["metrics"]))
    manifest["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def build_artifacts(
    out_dir: Path,
    data_dir: Path = constants.DEFAULT_DATA_DIR,
    limit: int | None = None,
    checkpoints=None,
    split_path: Path = constants.ARTIFACTS_DIR / constants.SPLIT_NAME,
    figures_dir: Path | None = None,
) -> dict:
    out_dir = Path(out_dir)
    splits = locked_splits(data_dir, split_path)
    if limit:
        splits = smoke_subset(splits, limit)
    labels = {name: np.array([e.label for e in members]) for name, members in splits.items()}
    checkpoints = [Path(c) for c in checkpoints] if checkpoints else checkpoints_in(out_dir)
    serving_path = export_litert(checkpoints, out_dir)
    log.info("exported %s", serving_path)
    predictor = provisional_predictor(out_dir, serving_path)

    inputs = {
        name: load_model_inputs(splits[name], constants.ML_CACHE_DIR)
        for name in ("train", "selection", "proxy_selection")
    }
    copies = harder_copies(load_squashed(splits["selection"]))
    inputs["selection_perturbed"] = np.stack([preprocess(jpeg) for jpeg in copies])
    outputs = {name: run_batches(predictor, batch) for name, batch in inputs.items()}

    rules = fit_image_rules(load_squashed(splits["train"]))
    held_out = ("selection", "proxy_selection", "selection_perturbed")
    held_inputs = np.concatenate([inputs[n] for n in held_out])
    held_outputs = {"embedding": np.concatenate([outputs[n]["embedding"] for n in held_out])}
    fitted_gate = fit_gate(
        {"train": inputs["train"], "held_out": held_inputs},
        {"train": outputs["train"], "held_out": held_outputs},
        rules,
    )
    fitted_gate.save(out_dir / GATE_NAME)
    manifest = json.loads((out_dir / constants.MANIFEST_NAME).read_text())
    manifest["gate"] = {"file": GATE_NAME}
    (out_dir / constants.MANIFEST_NAME).write_text(json.dumps(manifest))
    manifest = calibrate_and_report(out_dir, splits, figures_dir)
    predictor = Predictor.load(out_dir)

    pneumonia = labels["selection"] == 1
    source, selection_faithfulness = choose_heatmap_source(
        predictor, inputs["selection"][pneumonia], {s: outputs["selection"][s][pneumonia] for s in HEATMAP_SOURCES}
    )
    manifest["heatmap"] = {
        "source": source,
        "chosen_on": "selection split, deletion test at 10 % and 20 %",
        "selection": selection_faithfulness,
    }
    report_inputs = {n: load_model_inputs(splits[n], constants.ML_CACHE_DIR) for n in REPORT_SETS}
    heatmap_report = {}
    for name, batch in report_inputs.items():
        sick = labels[name] == 1
        cams = run_batches(predictor, batch[sick])
        heatmap_report[name] = faithfulness.deletion_test(probability_of(predictor), batch[sick], cams[source])
    manifest["heatmap"]["reported"] = heatmap_report

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
                **rules,
                "constructed_set": constructed_set_report(predictor),
                **genuine_refusals(manifest["metrics"]),
            },
            "latency_ms": latency_ms(predictor, splits["report"][0].path),
            "data": TRAINING_DATA,
            "split": describe(splits),
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
    parser.add_argument("--split", type=Path, default=constants.ARTIFACTS_DIR / constants.SPLIT_NAME)
    parser.add_argument("--figures", type=Path, default=None, help="write reliability diagrams here")
    parser.add_argument("--checkpoints", type=Path, nargs="*", help="default: every model*.keras in --out")
    parser.add_argument(
        "--calibration-only", action="store_true", help="refit the calibration of the exported model in --out"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.calibration_only:
        manifest = recalibrate(args.out, args.data, args.split, args.figures)
    else:
        manifest = build_artifacts(args.out, args.data, args.limit, args.checkpoints, args.split, args.figures)
    summary = {
        name: {
            k: round(v, 4) for k, v in figures.items() if k in ("auc", "accuracy", "sensitivity", "specificity", "ece")
        }
        for name, figures in manifest["metrics"].items()
    }
    print(
        json.dumps(
            {"version": manifest["version"], "calibration": manifest["calibration"], "metrics": summary}, indent=2
        )
    )


if __name__ == "__main__":
    main()
