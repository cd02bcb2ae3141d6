import numpy as np
import pytest

from ml import calibration, constants, metrics
from ml.preprocessing import decode
from ml.shift import SHIFT_FAMILIES, family_copies


def synthetic(temperature=2.5, bias=-0.7, n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, n)
    labels = (rng.random(n) < calibration.calibrated(logits, temperature, bias)).astype(int)
    return labels, logits


def test_temperature_and_bias_are_recovered_from_data_they_generated():
    labels, logits = synthetic()
    temperature, bias = calibration.fit_temperature(labels, logits)
    assert temperature == pytest.approx(2.5, rel=0.1)
    assert bias == pytest.approx(-0.7, abs=0.15)


def test_calibrated_probabilities_have_a_small_calibration_error_and_raw_ones_do_not():
    labels, logits = synthetic()
    temperature, bias = calibration.fit_temperature(labels, logits)
    assert metrics.expected_calibration_error(labels, calibration.calibrated(logits, temperature, bias)) < 0.02
    assert metrics.expected_calibration_error(labels, calibration.sigmoid(logits)) > 0.05


def test_highest_threshold_keeps_the_requested_sensitivity():
    labels = np.array([1] * 100 + [0] * 100)
    probabilities = np.concatenate([np.linspace(0.01, 1, 100), np.linspace(0, 0.5, 100)])
    threshold = calibration.highest_threshold_keeping(labels, probabilities, 0.97)
    assert (probabilities[labels == 1] >= threshold).mean() >= 0.97
    assert (probabilities[labels == 1] >= threshold + 1e-6).mean() < 0.97


def test_review_band_flags_the_margin_above_the_promised_share_of_the_pooled_sets_pneumonia():
    rng = np.random.default_rng(1)
    labels = [rng.integers(0, 2, 500) for _ in range(2)]
    probabilities = [np.clip(truth * 0.6 + rng.random(500) * 0.5, 0, 1) for truth in labels]
    points = calibration.choose_operating_points(labels, probabilities)
    low, high = points["review_band"]
    assert low <= high == points["threshold"]
    pooled_labels, pooled = np.concatenate(labels), np.concatenate(probabilities)
    assert (pooled[pooled_labels == 1] >= low).mean() >= constants.REVIEW_BAND_SENSITIVITY > 0.99


def test_the_out_of_the_box_calibration_is_fitted_under_every_shift_family():
    assert set(calibration.SELECTION_SETS) <= set(calibration.FITTED_ON)
    for shift in ("acquisition", *SHIFT_FAMILIES):
        assert f"selection/{shift}" in calibration.FITTED_ON
        assert f"proxy_selection/{shift}" in calibration.FITTED_ON
    assert not any(name.startswith(("report", "proxy_report")) for name in calibration.FITTED_ON)


@pytest.mark.parametrize("family", sorted(SHIFT_FAMILIES))
def test_each_shift_family_makes_a_readable_jpeg_of_the_same_size(family):
    rows, columns = np.indices((224, 224))
    grey = (0.2 + 0.6 * (((rows // 8) + (columns // 8)) % 2) * (columns / 224)).astype(np.float32)
    (jpeg,) = family_copies(grey[np.newaxis], family)
    decoded = decode(jpeg)
    assert decoded.grey.shape == (224, 224)
    assert not np.allclose(decoded.grey, grey, atol=0.02)


def test_summary_reports_operating_point_and_intervals():
    labels = np.array([0, 0, 0, 1, 1, 1] * 20)
    probabilities = np.array([0.1, 0.2, 0.6, 0.4, 0.8, 0.9] * 20)
    report = metrics.summary(labels, probabilities, threshold=0.5, review_from=0.3)
    assert report["sensitivity"] == pytest.approx(2 / 3)
    assert report["specificity"] == pytest.approx(2 / 3)
    assert report["flagged_for_review"]["sensitivity"] == 1.0
    low, high = report["confidence_intervals_95"]["auc"]
    assert low <= report["auc"] <= high


def test_threshold_balances_sensitivity_and_specificity_whatever_the_share_of_pneumonia():
    rng = np.random.default_rng(2)
    sets = []
    for pneumonia_share in (0.8, 0.4):
        labels = (rng.random(4000) < pneumonia_share).astype(int)
        sets.append((labels, np.clip(0.3 + 0.4 * labels + rng.normal(0, 0.15, 4000), 0, 1)))
    threshold = calibration.best_balanced_threshold([s[0] for s in sets], [s[1] for s in sets])
    assert threshold == pytest.approx(0.5, abs=0.03)  # halfway between the classes, not pulled by prevalence


def test_threshold_never_sits_on_an_observed_probability():
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.3, 0.6, 0.9])
    threshold = calibration.best_balanced_threshold([labels], [probabilities])
    assert threshold == pytest.approx(0.45)
