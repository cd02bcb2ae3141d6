"""How the out-of-the-box rule was chosen, on the selection halves only: `python scripts/calibration_rule_choice.py`.

Each shift family (ml.shift) is left out in turn: the calibration is fitted on the selection halves as
they are and under the other families, then read on the left-out family's selection halves. Compared:
temperature and bias pooled over the sets against fitted for the worst set, and a review band that
keeps 99 % against 99.5 % of the pooled pneumonia flagged. Prints the mean and worst over the
left-out families. No report-split film is read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml import calibration  # noqa: E402
from ml.constants import ARTIFACTS_DIR, DEFAULT_DATA_DIR, SPLIT_NAME  # noqa: E402
from ml.data import load_splits  # noqa: E402
from ml.export import served_logits, shifted_sources  # noqa: E402
from ml.metrics import expected_calibration_error  # noqa: E402
from ml.predictor import Predictor  # noqa: E402


def fit_worst_case(labels, logits):
    """(temperature, bias) minimising the largest log-loss of any one set."""
    loss = lambda p: max(calibration.log_loss(y, z, 1 / p[0], p[1]) for y, z in zip(labels, logits, strict=True))  # noqa: E731
    inverse_temperature, bias = minimize(loss, x0=[0.5, 0.0], method="Nelder-Mead").x
    return 1 / inverse_temperature, bias


def main() -> None:
    predictor = Predictor.load()
    splits = load_splits(ARTIFACTS_DIR / SPLIT_NAME, DEFAULT_DATA_DIR)
    sources = shifted_sources(splits, calibration.SELECTION_SETS)
    read = {}
    for name in calibration.FITTED_ON:
        base = name.split("/")[0]
        read[name] = served_logits(predictor, sources[name], np.array([e.label for e in splits[base]]))
    rows = {}
    for left_out in calibration.SHIFTS:
        fitted = [n for n in calibration.FITTED_ON if not n.endswith(f"/{left_out}")]
        held = [n for n in calibration.FITTED_ON if n.endswith(f"/{left_out}")]
        labels, logits = [read[n][0] for n in fitted], [read[n][1] for n in fitted]
        fits = {
            "pooled": calibration.fit_temperature(np.concatenate(labels), np.concatenate(logits)),
            "worst case": fit_worst_case(labels, logits),
        }
        for fit_name, (temperature, bias) in fits.items():
            probabilities = [calibration.calibrated(z, temperature, bias) for z in logits]
            for target in (0.99, 0.995):
                points = calibration.choose_operating_points(labels, probabilities, target)
                for name in held:
                    y = read[name][0]
                    p = calibration.calibrated(read[name][1], temperature, bias)
                    rows.setdefault((fit_name, target), []).append(
                        (expected_calibration_error(y, p), (p[y == 1] >= points["review_band"][0]).mean())
                    )
    print("| Fit | Review band keeps | ECE on the left-out family: mean (worst) | Flagged sensitivity: mean (worst) |")
    print("|---|---|---|---|")
    for (fit_name, target), values in rows.items():
        ece, flagged = np.array(values).T
        print(
            f"| {fit_name} | {target:.1%} | {ece.mean():.3f} ({ece.max():.3f}) | {flagged.mean():.3f} ({flagged.min():.3f}) |"
        )


if __name__ == "__main__":
    main()
