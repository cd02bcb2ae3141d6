"""The staff monitoring page: the model against radiologists' findings, in aggregate queries."""

from datetime import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews import monitoring
from tests.factories import ReviewFactory, StaffFactory, UserFactory, private_media  # noqa: F401

MONITORING_URL = reverse("staff:monitoring")
MARCH, APRIL = datetime(2026, 3, 10, tzinfo=timezone.UTC), datetime(2026, 4, 10, tzinfo=timezone.UTC)


def review(label: str, finding: str, probability: float = 0.5, when=MARCH):
    return ReviewFactory(prediction__label=label, prediction__probability=probability, finding=finding, created_at=when)


@pytest.fixture
def reviews(db):
    # March: 2 true positives, 1 false negative, 1 false positive, 1 true negative, 1 inconclusive
    review("pneumonia", "pneumonia", 0.91)
    review("pneumonia", "pneumonia", 0.95)
    review("normal", "pneumonia", 0.12)
    review("pneumonia", "no_pneumonia", 0.93)
    review("normal", "no_pneumonia", 0.15)
    review("pneumonia", "inconclusive", 0.6)
    # April: 1 true positive, 1 true negative
    review("pneumonia", "pneumonia", 0.55, APRIL)
    review("normal", "no_pneumonia", 0.05, APRIL)


def test_the_confusion_matrix_counts_each_cell(reviews):
    overall = monitoring.agreement()

    assert (overall.true_positive, overall.false_negative, overall.false_positive, overall.true_negative) == (
        3,
        1,
        1,
        2,
    )
    assert overall.inconclusive == 1
    assert overall.sensitivity == pytest.approx(3 / 4)
    assert overall.specificity == pytest.approx(2 / 3)
    assert overall.agreement == pytest.approx(5 / 7)


def test_agreement_is_given_month_by_month(reviews):
    march, april = monitoring.agreement_by_month()

    assert (march.month.month, april.month.month) == (3, 4)
    assert (march.true_positive, march.false_negative, march.false_positive, march.true_negative) == (2, 1, 1, 1)
    assert march.sensitivity == pytest.approx(2 / 3)
    assert (april.sensitivity, april.specificity) == (1.0, 1.0)


def test_calibration_bins_the_probability_against_the_confirmed_share(reviews):
    bins = {(round(b.low, 1), round(b.high, 1)): b for b in monitoring.calibration()}

    assert set(bins) == {(0.0, 0.1), (0.1, 0.2), (0.5, 0.6), (0.9, 1.0)}
    assert (bins[0.9, 1.0].cases, bins[0.9, 1.0].confirmed) == (3, 2)
    assert bins[0.9, 1.0].mean_probability == pytest.approx((0.91 + 0.95 + 0.93) / 3)
    assert (bins[0.1, 0.2].cases, bins[0.1, 0.2].confirmed) == (2, 1)
    assert bins[0.1, 0.2].confirmed_share == 0.5


def test_a_probability_of_exactly_one_falls_in_the_top_bin(db):
    review("pneumonia", "pneumonia", 1.0)

    (top,) = monitoring.calibration()

    assert (top.low, top.high, top.cases) == (0.9, 1.0, 1)


def test_no_reviews_give_no_figures_rather_than_errors(db):
    assert monitoring.agreement().sensitivity is None
    assert monitoring.agreement_by_month() == []
    assert monitoring.calibration() == []


def test_the_page_shows_the_figures(admin_client, reviews):
    page = admin_client.get(MONITORING_URL).content.decode()

    assert '<td data-cell="true_positive">3</td>' in page
    assert '<dd data-figure="sensitivity">75%</dd>' in page
    assert '<dd data-figure="specificity">67%</dd>' in page
    assert "March 2026" in page and "April 2026" in page


def test_the_page_costs_the_same_queries_for_8_reviews_or_30(admin_client, reviews):
    admin_client.get(MONITORING_URL)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(MONITORING_URL)
    for _ in range(22):
        review("normal", "no_pneumonia", 0.3, APRIL)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(MONITORING_URL)

    assert len(many) == len(few)


def test_staff_with_the_permission_to_read_reviews_may_see_it(client, db):
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_review"))
    client.force_login(staff)

    assert client.get(MONITORING_URL).status_code == 200
