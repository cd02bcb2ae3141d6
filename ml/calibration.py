"""Temperature scaling and the operating points, fitted on validation data only.

- temperature and bias: p = sigmoid(logit / temperature + bias), fitted for minimum log-loss. The bias
  matters: class weights and augmentation shift the raw logits, which a temperature alone cannot undo.
- threshold: the binary reading. The validation split drawn from the training distribution is almost
  separable, so a threshold that maximises its accuracy sits far too low for images from other
  machines (the known failure on this data set: specificity collapses). Instead we take the highest
  threshold that still keeps SENSITIVITY_TARGET on the *harder* (perturbed) validation set: as much
  specificity as the screening sensitivity allows.
- review band [review_from, threshold): "indeterminate, needs a radiologist", chosen so that everything
  flagged (pneumonia or indeterminate) catches SCREENING_SENSITIVITY of validation pneumonia, on both
  the plain and the harder validation sets.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ml.constants import SCREENING_SENSITIVITY

SENSITIVITY_TARGET = 0.97


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


def choose_operating_points(labels_sets: list[np.ndarray], probability_sets: list[np.ndarray]) -> dict:
    """Threshold from the last (hardest) set; review band start from the strictest of all sets."""
    threshold = highest_threshold_keeping(labels_sets[-1], probability_sets[-1], SENSITIVITY_TARGET)
    review_from = min(
        highest_threshold_keeping(labels, probabilities, SCREENING_SENSITIVITY)
        for labels, probabilities in zip(labels_sets, probability_sets, strict=True)
    )
    return {"threshold": threshold, "review_band": [min(review_from, threshold), threshold]}
