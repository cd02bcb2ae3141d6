"""Temperature scaling and the operating points, fitted on validation data only.

- temperature and bias: p = sigmoid(logit / temperature + bias), fitted for minimum log-loss. The bias
  matters: class weights and augmentation shift the raw logits, which a temperature alone cannot undo.
- threshold: the binary reading, the probability with the best balanced accuracy (the mean of
  sensitivity and specificity) averaged over the selection sets. Balanced, because the share of
  pneumonia differs between sets (76 % in the selection split, 66 % in the shift proxy) and in a new
  hospital again; averaged over sets, because one that keeps only the in-distribution split would
  sit where that almost separable split puts it, too low for films from elsewhere.
- review band [review_from, threshold): "indeterminate, needs a radiologist", chosen so that everything
  flagged (pneumonia or indeterminate) catches SCREENING_SENSITIVITY of pneumonia on every selection
  set: as few normal films as that sensitivity allows.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ml.constants import SCREENING_SENSITIVITY


def sigmoid(values):
    return 1.0 / (1.0 + np.exp(-np.asarray(values, dtype=np.float64)))


def calibrated(logits, temperature: float, bias: float):
    return sigmoid(np.asarray(logits, dtype=np.float64) / temperature + bias)


def log_loss(labels: np.ndarray, logits: np.ndarray, temperature: float, bias: float) -> float:
    scaled = np.asarray(logits, dtype=np.float64) / temperature + bias
    # log(1 + exp(-|z|)) form: stable for large logits
    return float(np.mean(np.maximum(scaled, 0) - scaled * labels + np.log1p(np.exp(-np.abs(scaled)))))


def fit_temperature(labels: np.ndarray, logits: np.ndarray) -> tuple[float, float]:
    """(temperature, bias) minimising the log-loss; fitted on 1/temperature to keep it convex."""
    result = minimize(
        lambda params: log_loss(labels, logits, 1.0 / params[0], params[1]),
        x0=np.array([1.0, 0.0]),
        bounds=[(0.02, 20.0), (-10.0, 10.0)],
        method="L-BFGS-B",
    )
    inverse_temperature, bias = result.x
    return float(1.0 / inverse_temperature), float(bias)


def highest_threshold_keeping(labels: np.ndarray, probabilities: np.ndarray, sensitivity: float) -> float:
    """The largest t such that P(probability >= t | pneumonia) >= sensitivity."""
    positives = np.sort(probabilities[labels == 1])
    allowed_misses = int(np.floor((1 - sensitivity) * len(positives)))
    return float(positives[allowed_misses])


def balanced_accuracy(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> float:
    predicted = probabilities >= threshold
    return float((predicted[labels == 1].mean() + (~predicted[labels == 0]).mean()) / 2)


def best_balanced_threshold(labels_sets: list[np.ndarray], probability_sets: list[np.ndarray]) -> float:
    """The probability whose balanced accuracy, averaged over the sets, is highest (midpoints between
    observed probabilities, so the threshold never sits on a film)."""
    observed = np.unique(np.concatenate(probability_sets))
    candidates = (observed[:-1] + observed[1:]) / 2 if len(observed) > 1 else observed
    scores = [
        np.mean([balanced_accuracy(y, p, t) for y, p in zip(labels_sets, probability_sets, strict=True)])
        for t in candidates
    ]
    return float(candidates[int(np.argmax(scores))])


# The sets the calibration and the operating points are fitted on (ml.export and ml.ablation alike).
FITTED_ON = ("selection", "proxy_selection", "selection_perturbed")


def fit(labels: dict[str, np.ndarray], logits: dict[str, np.ndarray]) -> tuple[float, float, dict]:
    """(temperature, bias, operating points) from the FITTED_ON sets: the temperature and bias on the
    sets pooled, the threshold and review band on each set's calibrated probabilities."""
    temperature, bias = fit_temperature(
        np.concatenate([labels[n] for n in FITTED_ON]), np.concatenate([logits[n] for n in FITTED_ON])
    )
    probabilities = [calibrated(logits[n], temperature, bias) for n in FITTED_ON]
    return temperature, bias, choose_operating_points([labels[n] for n in FITTED_ON], probabilities)


def choose_operating_points(labels_sets: list[np.ndarray], probability_sets: list[np.ndarray]) -> dict:
    """Threshold by balanced accuracy over all sets; review band start from the strictest set."""
    threshold = best_balanced_threshold(labels_sets, probability_sets)
    review_from = min(
        highest_threshold_keeping(labels, probabilities, SCREENING_SENSITIVITY)
        for labels, probabilities in zip(labels_sets, probability_sets, strict=True)
    )
    return {"threshold": threshold, "review_band": [min(review_from, threshold), threshold]}
