"""The patient's side of the review loop: asking for a review, comparing X-rays, results held until review."""

from datetime import timedelta

import pytest
from django.urls import reverse

from reviews.models import ReviewCase
from reviews.worklist import worklist
from scans.models import Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    private_media,
)

ASK = "Ask for a radiologist"


def detail_page(client, scan) -> str:
    client.force_login(scan.owner)
    return client.get(reverse("scans:detail", args=[scan.pk])).content.decode()


def test_a_finished_scan_offers_to_ask_for_a_review(client, db):
    scan = PredictionFactory(normal=True).scan

    page = detail_page(client, scan)

    assert ASK in page
    assert reverse("reviews:request", args=[scan.pk]) in page


def test_a_flagged_scan_says_it_is_on_the_worklist_instead_of_offering_to_ask(client, db):
    scan = PredictionFactory().scan

    page = detail_page(client, scan)

    assert "on the radiologists' worklist" in page
    assert ASK not in page


def test_after_review_the_model_no_longer_calls_for_one(client, db):
    review = ReviewFactory()

    page = detail_page(client, review.scan)

    assert "Reviewed by a radiologist" in page
    assert "Needs radiologist review" not in page


def test_asking_puts_the_scan_on_the_worklist(client, db):
    scan = PredictionFactory(normal=True).scan
    client.force_login(scan.owner)

    response = client.post(reverse("reviews:request", args=[scan.pk]), follow=True)

    assert scan.review_case.requested_at is not None
    assert [case.scan_id for case in worklist(RadiologistFactory()).cases] == [scan.pk]
    page = response.content.decode()
    assert "You asked for a radiologist" in page
    assert ASK not in page


def test_asking_twice_keeps_the_first_request(client, db):
    scan = PredictionFactory(normal=True).scan
    client.force_login(scan.owner)
    client.post(reverse("reviews:request", args=[scan.pk]))
    first = ReviewCase.objects.get(scan=scan).requested_at

    client.post(reverse("reviews:request", args=[scan.pk]))

    assert ReviewCase.objects.get(scan=scan).requested_at == first


@pytest.mark.parametrize("status", [Scan.Status.QUEUED, Scan.Status.PROCESSING])
def test_an_unfinished_scan_cannot_be_sent_for_review(client, db, status):
    scan = ScanFactory(status=status)
    client.force_login(scan.owner)

    client.post(reverse("reviews:request", args=[scan.pk]))

    assert not ReviewCase.objects.filter(scan=scan).exists()
    assert ASK not in detail_page(client, scan)


def test_a_rejected_scan_can_be_sent_for_review(client, db):
    scan = ScanFactory(status=Scan.Status.REJECTED, status_reason="This looks like a photograph.")
    client.force_login(scan.owner)

    client.post(reverse("reviews:request", args=[scan.pk]))

    assert [case.scan_id for case in worklist(RadiologistFactory()).cases] == [scan.pk]


def test_a_reviewed_scan_offers_no_new_request(client, db):
    review = ReviewFactory()

    assert ASK not in detail_page(client, review.scan)


def test_the_history_shows_the_radiologists_finding(client, db):
    review = ReviewFactory(finding="no_pneumonia")
    client.force_login(review.scan.owner)

    page = client.get(reverse("scans:history")).content.decode()

    assert "Reviewed by a radiologist:</strong> No pneumonia" in page
    assert "Needs radiologist review" not in page


def test_compare_shows_this_and_the_previous_xray_with_both_readings(client, db):
    previous = PredictionFactory(normal=True).scan
    ReviewFactory(prediction=previous.latest_prediction, finding="no_pneumonia")
    current = PredictionFactory(
        probability=0.82,
        scan__owner=previous.owner,
        scan__patient=previous.patient,
        scan__created_at=previous.created_at + timedelta(days=7),
    ).scan
    older = ScanFactory(
        owner=previous.owner, patient=previous.patient, created_at=previous.created_at - timedelta(days=7)
    )
    ScanFactory(created_at=previous.created_at + timedelta(days=1))  # someone else's, in between
    client.force_login(current.owner)

    page = client.get(reverse("scans:compare", args=[current.pk])).content.decode()

    assert reverse("scans:image", args=[current.pk]) in page
    assert reverse("scans:image", args=[previous.pk]) in page
    assert reverse("scans:image", args=[older.pk]) not in page
    assert "<strong>82%</strong> \u00b7 Pneumonia suspected" in page
    assert "<strong>7%</strong> \u00b7 No pneumonia detected" in page
    assert "No pneumonia</span>" in page
    assert reverse("scans:compare", args=[current.pk]) in detail_page(client, current)


def test_the_first_xray_has_nothing_to_compare_with(client, db):
    scan = PredictionFactory().scan
    client.force_login(scan.owner)

    page = client.get(reverse("scans:compare", args=[scan.pk])).content.decode()

    assert "no earlier X-ray" in page
    assert reverse("scans:compare", args=[scan.pk]) not in detail_page(client, scan)


class TestResultsHeldUntilReview:
    @pytest.fixture(autouse=True)
    def hold(self, settings):
        settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True

    def test_the_patient_sees_no_reading_or_heatmap_before_review(self, client, db):
        scan = PredictionFactory(probability=0.82).scan

        page = detail_page(client, scan)

        assert "Waiting for a radiologist" in page
        assert "82%" not in page
        assert reverse("scans:heatmap", args=[scan.pk]) not in page
        assert client.get(reverse("scans:heatmap", args=[scan.pk])).status_code == 404
        history = client.get(reverse("scans:history")).content.decode()
        assert "82%" not in history
        assert "Waiting for a radiologist" in history

    def test_every_finished_scan_goes_to_the_worklist(self, db):
        cleared = PredictionFactory(normal=True).scan

        assert [case.scan_id for case in worklist(RadiologistFactory()).cases] == [cleared.pk]

    def test_after_review_the_patient_sees_both_readings(self, client, db):
        review = ReviewFactory(prediction__probability=0.82)

        page = detail_page(client, review.scan)

        assert "Reviewed by a radiologist" in page
        assert "82%" in page
        assert client.get(reverse("scans:heatmap", args=[review.scan.pk])).status_code == 200

    def test_the_radiologist_sees_the_reading_before_review(self, client, db):
        scan = PredictionFactory(probability=0.82).scan
        client.force_login(RadiologistFactory())

        page = client.get(reverse("reviews:case", args=[scan.pk])).content.decode()

        assert "82%" in page


def test_without_the_setting_the_reading_is_shown_at_once(client, db, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = False
    scan = PredictionFactory(probability=0.82).scan

    page = detail_page(client, scan)

    assert "82%" in page
    assert "Waiting for a radiologist" not in page
