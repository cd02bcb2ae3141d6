"""Site adaptation's fitting and guardrails, on cases whose truth is known because they were drawn."""

import numpy as np
import pytest

from ml import adaptation
from ml.adaptation import ReferenceSet, adapt
from ml.heads import Head

SHIPPED = Head("shipped", {"temperature": 1.0, "bias": 0.0}, threshold=0.5, review_from=0.1)


def site(n=400, pneumonia_share=0.6, shift=3.0, seed=0, dims=8):
    """A site whose films all read `shift` logits higher than the shipped head expects (the v2 failure:
    normal films drift towards pneumonia), with part of the truth visible only in the embedding."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < pneumonia_share).astype(int)
    signal = np.where(labels == 1, 1.5, -1.5) + rng.normal(0, 1.0, n)
    embeddings = rng.normal(0, 1, (n, dims))
    embeddings[:, 0] += 0.8 * signal
    logits = 2.0 * signal + shift
    groups = np.array([f"patient{i // 2}" for i in range(n)])  # two films a patient
    return ReferenceSet(labels, logits, embeddings.astype(np.float32), groups, np.ones(n))


@pytest.mark.slow  # fits and bootstraps heads: 4-7 s
def test_an_adapted_head_beats_a_shipped_head_that_the_site_has_outgrown():
    report = adapt(site(), SHIPPED)
    assert report.may_activate, report.refusal
    shipped, adapted = report.figures["shipped"], report.figures["adapted"]
    assert adapted["log_loss"]["value"] < shipped["log_loss"]["value"]
    assert adapted["specificity"]["value"] > shipped["specificity"]["value"] + 0.2
    assert adapted["flagged_sensitivity"]["value"] >= 0.99
    low, high = adapted["auc"]["ci"]
    assert low <= adapted["auc"]["value"] <= high


@pytest.mark.slow  # fits and bootstraps heads: 4-7 s
def test_the_guardrails_refuse_too_few_cases():
    report = adapt(site(n=150), SHIPPED)
    assert not report.may_activate
    assert "at least 200" in report.refusal


@pytest.mark.slow  # fits and bootstraps heads: 4-7 s
def test_the_guardrails_refuse_a_site_with_too_few_of_one_class():
    report = adapt(site(n=400, pneumonia_share=0.9, seed=3), SHIPPED)
    assert not report.may_activate
    assert "at least 50 of each" in report.refusal


def test_the_guardrails_refuse_one_class_only():
    cases = site(n=300)
    only_pneumonia = cases.subset(np.flatnonzero(cases.labels == 1))
    report = adapt(only_pneumonia, SHIPPED)
    assert not report.may_activate
    assert report.head is None


@pytest.mark.slow  # fits and bootstraps heads: 4-7 s
def test_the_guardrails_refuse_a_head_that_does_not_beat_the_shipped_one():
    # The shipped head is exactly right for these cases and the embedding is noise: nothing to learn.
    rng = np.random.default_rng(5)
    n = 400
    logits = rng.normal(0, 3, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logits))).astype(int)
    cases = ReferenceSet(labels, logits, rng.normal(0, 1, (n, 8)), np.arange(n).astype(str), np.ones(n))
    report = adapt(cases, SHIPPED)
    assert not report.may_activate
    assert "does not beat the shipped one" in report.refusal


def test_the_operating_point_keeps_the_promised_share_of_pneumonia_flagged():
    rng = np.random.default_rng(2)
    labels = np.array([1] * 400 + [0] * 400)
    probabilities = np.concatenate([rng.beta(5, 2, 400), rng.beta(2, 5, 400)])
    threshold, review_from = adaptation.operating_point(labels, probabilities, np.ones(800))
    assert (probabilities[labels == 1] >= review_from).mean() >= adaptation.REVIEW_BAND_SENSITIVITY
    assert review_from <= threshold
    assert 0.3 < threshold < 0.7


def test_weights_make_a_quality_control_sample_stand_for_every_cleared_reading():
    labels = np.array([1] * 100 + [0] * 100)
    probabilities = np.concatenate([np.full(100, 0.9), np.linspace(0.05, 0.6, 100)])
    unweighted = adaptation.figures(labels, probabilities, probabilities >= 0.5, probabilities >= 0.5, np.ones(200))
    weights = np.where(probabilities < 0.5, 20.0, 1.0)  # cleared readings sampled at 5 %
    weighted = adaptation.figures(labels, probabilities, probabilities >= 0.5, probabilities >= 0.5, weights)
    assert weighted["specificity"] > unweighted["specificity"]


@pytest.mark.slow  # fits and bootstraps heads: 4-7 s
def test_a_report_survives_json_and_names_its_head():
    report = adapt(site(), SHIPPED)
    restored = adaptation.AdaptationReport.from_dict(report.as_dict())
    assert restored.head == report.head
    assert restored.may_activate == report.may_activate
    assert "shipped" in report.text() and "adapted" in report.text()


@pytest.mark.parametrize("method", ["temperature", "logistic"])
def test_every_candidate_fits_and_reads_the_cases_it_was_fitted_on(method):
    cases = site()
    head = adaptation.Candidate(method, None if method == "temperature" else 10.0).fit(cases, SHIPPED)
    probabilities = head.probabilities(cases.logits, cases.embeddings)
    assert probabilities.shape == (len(cases),)
    assert adaptation.weighted_log_loss(cases.labels, np.log(probabilities / (1 - probabilities)), cases.weights) < (
        adaptation.weighted_log_loss(cases.labels, cases.logits, cases.weights)
    )
