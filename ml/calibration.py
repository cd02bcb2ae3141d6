"""The out-of-the-box calibration and operating points, fitted on the selection halves only, under
every acquisition shift of ml.shift (the FITTED_ON sets), never on the training hospital's films alone.

- temperature and bias: p = sigmoid(logit / temperature + bias), fitted for minimum log-loss on the
  sets pooled. The bias matters: without class weights the logits lean towards the majority class,
  which a temperature alone cannot undo.
- threshold: the binary reading, the probability with the best balanced accuracy (the mean of
  sensitivity and specificity) averaged over the sets. Balanced, because the share of pneumonia
  differs between sets and hospitals; averaged over shifted sets, because v2's threshold, set where
  the almost separable in-distribution films put it, sent three normal films in four of the hospital's
  later films to review.
- review band [review_from, threshold): "indeterminate, needs a radiologist", its lower edge the
  highest that keeps REVIEW_BAND_SENSITIVITY (99.5 %) of the pooled sets' pneumonia flagged: half a
  point above the 99 % promised, the margin that held it on a shift family left out of the fit.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ml.constants import REVIEW_BAND_SENSITIVITY
from ml.shift import SHIFT_FAMILIES


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


# The sets the calibration and the operating points are fitted on: both selection halves as they are,
# under the mixed acquisition changes, and under each shift family ("selection/blur", ...).
SELECTION_SETS = ("selection", "proxy_selection")
SHIFTS = ("acquisition", *SHIFT_FAMILIES)
FITTED_ON = (*SELECTION_SETS, *(f"{name}/{shift}" for name in SELECTION_SETS for shift in SHIFTS))
THRESHOLD_RULE = (
    "best balanced accuracy averaged over both selection halves, as they are and under each acquisition "
    "shift family; review band from the highest probability keeping 99.5 % of their pooled pneumonia flagged"
)


def fit(labels: dict[str, np.ndarray], logits: dict[str, np.ndarray], names=FITTED_ON) -> tuple[float, float, dict]:
    """(temperature, bias, operating points) from the `names` sets: the temperature and bias on the
    sets pooled, the threshold and review band on their calibrated probabilities."""
    temperature, bias = fit_temperature(
        np.concatenate([labels[n] for n in names]), np.concatenate([logits[n] for n in names])
    )
    probabilities = [calibrated(logits[n], temperature, bias) for n in names]
    return temperature, bias, choose_operating_points([labels[n] for n in names], probabilities)


def choose_operating_points(
    labels_sets: list[np.ndarray], probability_sets: list[np.ndarray], sensitivity: float = REVIEW_BAND_SENSITIVITY
) -> dict:
    """Threshold by balanced accuracy averaged over the sets; review band start from the sets pooled."""
    threshold = best_balanced_threshold(labels_sets, probability_sets)
    review_from = highest_threshold_keeping(np.concatenate(labels_sets), np.concatenate(probability_sets), sensitivity)
    return {"threshold": threshold, "review_band": [min(review_from, threshold), threshold]}
