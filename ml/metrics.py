"""Classification metrics for a pneumonia classifier: AUC, operating-point figures, calibration error,
and bootstrap confidence intervals. Plain NumPy/scikit-learn, no TensorFlow."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

CALIBRATION_BINS = 15


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Weighted mean |accuracy - confidence| over equal-width bins of the pneumonia probability."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    error = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            error += members.mean() * abs(labels[members].mean() - probabilities[members].mean())
    return float(error)


def at_threshold(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict:
    predicted = probabilities >= threshold
    positives, negatives = labels == 1, labels == 0
    true_positive = int((predicted & positives).sum())
    true_negative = int((~predicted & negatives).sum())
    return {
        "accuracy": float((predicted == positives).mean()),
        "sensitivity": true_positive / max(1, int(positives.sum())),
        "specificity": true_negative / max(1, int(negatives.sum())),
        "confusion": {
            "true_negative": true_negative,
            "false_positive": int((predicted & negatives).sum()),
            "false_negative": int((~predicted & positives).sum()),
            "true_positive": true_positive,
        },
    }


def summary(labels: np.ndarray, probabilities: np.ndarray, threshold: float, review_from: float | None = None) -> dict:
    labels = np.asarray(labels).astype(int)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    result = {
        "images": int(len(labels)),
        "pneumonia": int(labels.sum()),
        "normal": int((labels == 0).sum()),
        "auc": float(roc_auc_score(labels, probabilities)),
        "average_precision": float(average_precision_score(labels, probabilities)),
        "ece": expected_calibration_error(labels, probabilities),
        "threshold": threshold,
        **at_threshold(labels, probabilities, threshold),
        "at_0.5": {k: v for k, v in at_threshold(labels, probabilities, 0.5).items() if k != "confusion"},
    }
    if review_from is not None:
        flagged = at_threshold(labels, probabilities, review_from)
        result["flagged_for_review"] = {
            "sensitivity": flagged["sensitivity"],
            "share_of_images": float((probabilities >= review_from).mean()),
            "share_of_normal_images": 1 - flagged["specificity"],
        }
    result["confidence_intervals_95"] = bootstrap_intervals(labels, probabilities, threshold)
    return result


def bootstrap_intervals(labels, probabilities, threshold, rounds: int = 1000, seed: int = 0) -> dict:
    """Percentile bootstrap 95 % intervals for AUC, accuracy, sensitivity and specificity."""
    rng = np.random.default_rng(seed)
    samples = {"auc": [], "accuracy": [], "sensitivity": [], "specificity": []}
    for _ in range(rounds):
        index = rng.integers(0, len(labels), len(labels))
        drawn_labels, drawn = labels[index], probabilities[index]
        if drawn_labels.min() == drawn_labels.max():
            continue
        samples["auc"].append(roc_auc_score(drawn_labels, drawn))
        point = at_threshold(drawn_labels, drawn, threshold)
        for key in ("accuracy", "sensitivity", "specificity"):
            samples[key].append(point[key])
    return {key: [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))] for key, v in samples.items()}
