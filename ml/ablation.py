"""Compare trained checkpoints the way the shipped model is judged: `python -m ml.ablation CANDIDATE...`.

Each candidate is one checkpoint or several joined by commas (an ensemble, averaged on the logit). For
each, the calibration and the operating points are fitted on the selection sets exactly as ml.export
does, and the figures are read on the locked report split and the shift proxy's report half. The
Markdown table it prints is the model card's ablation table.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from ml import calibration, constants, metrics  # noqa: E402
from ml.data import load_model_inputs, load_splits, load_squashed  # noqa: E402
from ml.preprocessing import preprocess  # noqa: E402
from ml.shift import harder_copies  # noqa: E402

# The ablation compares networks under one fixed, cheaper rule (the mixed acquisition copies only);
# the shipped calibration is fitted by ml.export under every shift family.
ABLATION_FITTED_ON = ("selection", "proxy_selection", "selection_perturbed")

REPORTED = ("report", "proxy_report")


def zoomed(batch: np.ndarray, keep: float = 0.9) -> np.ndarray:
    """The centre `keep` of each image, resized back: the test-time view a slightly tighter film gives."""
    import tensorflow as tf

    size = batch.shape[1]
    return tf.image.resize(tf.image.central_crop(batch, keep), [size, size]).numpy()


def member_logits(checkpoint: Path, inputs: dict[str, np.ndarray], tta: bool = False) -> dict[str, np.ndarray]:
    import keras

    model = keras.models.load_model(checkpoint)

    def logits(batch):
        return np.asarray(model.predict(batch, batch_size=64, verbose=0)["logit"]).ravel()

    if tta:  # the mean logit over the film and its zoomed view
        return {name: (logits(batch) + logits(zoomed(batch))) / 2 for name, batch in inputs.items()}
    return {name: logits(batch) for name, batch in inputs.items()}


def judge(labels: dict[str, np.ndarray], logits: dict[str, np.ndarray]) -> dict:
    """Calibrate and choose the operating points as ml.export does, then read the figures on every set."""
    temperature, bias, points = calibration.fit(labels, logits, ABLATION_FITTED_ON)
    probabilities = {n: calibration.calibrated(v, temperature, bias) for n, v in logits.items()}
    return {
        name: metrics.summary(labels[name], probabilities[name], points["threshold"], points["review_band"][0])
        for name in (*ABLATION_FITTED_ON, *REPORTED)
    }


def row(name: str, figures: dict, cost: str) -> str:
    def cells(set_name):
        f = figures[set_name]
        return (
            f"{f['auc']:.4f} | {f['accuracy']:.3f} | {f['sensitivity']:.3f} | {f['specificity']:.3f} "
            f"| {f['ece']:.3f} | {f['flagged_for_review']['share_of_images']:.1%}"
        )

    return (
        f"| {name} | {figures['selection']['auc']:.4f} / {figures['proxy_selection']['auc']:.4f} | "
        f"{cells('report')} | {cells('proxy_report')} | {cost} |"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", nargs="+", help="checkpoint.keras or a,b,c for an ensemble")
    parser.add_argument("--tta", action="store_true", help="also score each candidate with test-time zoom")
    parser.add_argument("--data", type=Path, default=constants.DEFAULT_DATA_DIR)
    parser.add_argument("--split", type=Path, default=constants.ARTIFACTS_DIR / constants.SPLIT_NAME)
    args = parser.parse_args(argv)
    splits = load_splits(args.split, args.data)
    names = (*ABLATION_FITTED_ON, *REPORTED)
    inputs = {n: load_model_inputs(splits[n], constants.ML_CACHE_DIR) for n in names if n in splits}
    labels = {n: np.array([e.label for e in splits[n]]) for n in names if n in splits}
    copies = harder_copies(load_squashed(splits["selection"]))
    inputs["selection_perturbed"] = np.stack([preprocess(jpeg) for jpeg in copies])
    labels["selection_perturbed"] = np.repeat(labels["selection"], len(copies) // len(splits["selection"]))
    cached: dict[tuple[Path, bool], dict] = {}
    header = (
        "| Candidate | selection / proxy-selection AUC | report AUC | acc | sens | spec | ECE | review share "
        "| proxy AUC | acc | sens | spec | ECE | review share | predict cost |"
    )
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for candidate in args.candidates:
        members = [Path(p) for p in candidate.split(",")]
        for tta in (False, True) if args.tta else (False,):
            for member in members:
                if (member, tta) not in cached:
                    started = time.perf_counter()
                    cached[member, tta] = member_logits(member, inputs, tta)
                    print(f"<!-- {member} (tta {tta}): scored in {time.perf_counter() - started:.0f} s -->")
            logits = {n: np.mean([cached[m, tta][n] for m in members], axis=0) for n in names}
            name = " + ".join(m.stem for m in members) + (" + test-time zoom" if tta else "")
            cost = f"{len(members) * (2 if tta else 1)}× one network"
            print(row(name, judge(labels, logits), cost))


if __name__ == "__main__":
    main()
