"""Evaluate the serving model on any labelled folder: `python -m ml.evaluate --data DIR [--out DIR]`.

DIR holds NORMAL/ and PNEUMONIA/ images. Every image goes through the same `Predictor.predict` path the
portal uses (decode, gate, LiteRT model, calibration). Writes metrics.json and PNG plots: ROC, PR,
reliability diagram and confusion matrix. Images the gate rejects are counted and listed, not scored.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ml import metrics
from ml.constants import CLASS_NAMES
from ml.data import list_examples
from ml.predictor import Predictor


def score_folder(predictor: Predictor, data_dir: Path) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    labels, probabilities, rejected = [], [], []
    for example in list_examples(data_dir):
        reading = predictor.predict(example.path)
        if reading.rejected:
            rejected.append({"path": str(example.path), "label": CLASS_NAMES[example.label], "reason": reading.reason})
            continue
        labels.append(example.label)
        probabilities.append(reading.probability)
    return np.array(labels), np.array(probabilities), rejected


def evaluate(predictor: Predictor, data_dir: Path, out_dir: Path) -> dict:
    labels, probabilities, rejected = score_folder(predictor, data_dir)
    report = {
        "model_version": predictor.version,
        "data": str(data_dir),
        "rejected_by_gate": len(rejected),
        "rejected": rejected,
        **metrics.summary(labels, probabilities, predictor.threshold, predictor.review_from),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    plot_all(labels, probabilities, predictor.threshold, report["confusion"], out_dir)
    return report


def plot_all(labels, probabilities, threshold, confusion, out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    false_positive, true_positive, _ = roc_curve(labels, probabilities)
    axes.plot(false_positive, true_positive)
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC")
    _save(figure, out_dir / "roc.png")

    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    precision, recall, _ = precision_recall_curve(labels, probabilities)
    axes.plot(recall, precision)
    axes.set(xlabel="recall (sensitivity)", ylabel="precision", title="Precision-recall")
    _save(figure, out_dir / "pr.png")

    plot_reliability(labels, probabilities, out_dir / "reliability.png")

    figure, axes = plt.subplots(figsize=(4.5, 4))
    matrix = np.array(
        [
            [confusion["true_negative"], confusion["false_positive"]],
            [confusion["false_negative"], confusion["true_positive"]],
        ]
    )
    axes.imshow(matrix, cmap="Blues")
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(column, row, str(value), ha="center", va="center", fontsize=14)
    axes.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["normal", "pneumonia"],
        yticklabels=["normal", "pneumonia"],
        xlabel="model",
        ylabel="truth",
        title=f"Confusion at threshold {threshold:.2f}",
    )
    _save(figure, out_dir / "confusion.png")


def plot_reliability(labels, probabilities, path: Path, title: str = "Reliability") -> None:
    """Observed share with pneumonia against the predicted probability, per calibration bin, with each
    bin's film count: the diagram behind the expected calibration error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    edges = np.linspace(0, 1, metrics.CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, len(edges) - 2)
    filled = [i for i in range(len(edges) - 1) if (which == i).any()]
    predicted = [probabilities[which == i].mean() for i in filled]
    observed = [labels[which == i].mean() for i in filled]
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.plot(predicted, observed, marker="o")
    for x, y, i in zip(predicted, observed, filled, strict=True):
        axes.annotate(str(int((which == i).sum())), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ece = metrics.expected_calibration_error(np.asarray(labels), np.asarray(probabilities))
    axes.set(xlabel="predicted probability", ylabel="observed share with pneumonia", title=f"{title}\nECE {ece:.3f}")
    axes.title.set_fontsize(9)
    _save(figure, path)


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with NORMAL/ and PNEUMONIA/")
    parser.add_argument("--model", type=Path, default=None, help="artefacts folder or manifest (default: shipped)")
    parser.add_argument("--out", type=Path, default=Path("evaluation"))
    args = parser.parse_args(argv)
    report = evaluate(Predictor.load(args.model), args.data, args.out)
    keys = ("model_version", "images", "rejected_by_gate", "auc", "accuracy", "sensitivity", "specificity", "ece")
    print(json.dumps({k: report[k] for k in keys}, indent=2))
    print(f"metrics and plots written to {args.out}/")


if __name__ == "__main__":
    main()
