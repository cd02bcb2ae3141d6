"""Radiologists through the API: the worklist, and signing a review with the web's claim and review services."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from reviews import services
from reviews.models import Review, ReviewCase
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    UserFactory,
    ask_for_review,
    private_media,
)

WORKLIST_URL = reverse("api:worklist")


@pytest.fixture
def radiologist(db):
    return RadiologistFactory()


@pytest.fixture
def flagged(db):
    return PredictionFactory().scan


def review_url(scan):
    return reverse("api:review", args=[scan.pk])


def test_the_worklist_lists_waiting_cases_most_urgent_first(radiologist):
    certain = PredictionFactory(probability=0.97).scan
    uncertain = PredictionFactory(uncertain=True).scan
    PredictionFactory(normal=True)  # cleared: not on the worklist
    ReviewFactory()  # reviewed: not on the worklist

    body = token_client(radiologist).get(WORKLIST_URL).json()

    assert [case["id"] for case in body["results"]] == [certain.pk, uncertain.pk]
    assert body["results"][0]["ai_label"] == "pneumonia"
    assert body["results"][1]["ai_indeterminate"] is True


def test_the_worklist_filters_like_the_web_page(radiologist, flagged):
    requested = PredictionFactory(normal=True).scan
    ask_for_review(requested)

    body = token_client(radiologist).get(WORKLIST_URL, {"reason": "requested"}).json()

    assert [case["id"] for case in body["results"]] == [requested.pk]
    assert body["results"][0]["review_requested"] is True


def test_a_patient_is_told_the_worklist_does_not_exist(db):
    patient = UserFactory()

    response = token_client(patient).get(WORKLIST_URL)

    assert response.status_code == 404
    assert AuditEvent.objects.filter(actor=patient, action="refused", object_type="worklist").exists()


def test_posting_a_review_claims_signs_and_shows_it_to_the_patient(radiologist, flagged):
    response = token_client(radiologist).post(
        review_url(flagged),
        {
            "finding": "no_pneumonia",
            "patient_note": "The lungs are clear.",
            "internal_note": "Artefact at the left base.",
        },
    )

    assert response.status_code == 201
    assert response.json()["finding"] == "no_pneumonia" and "internal_note" not in response.json()
    review = Review.objects.get(scan=flagged)
    assert review.radiologist == radiologist and review.internal_note == "Artefact at the left base."
    assert review.prediction == flagged.latest_prediction
    case = ReviewCase.objects.get(scan=flagged)
    assert (case.state, case.claimed_by) == ("reviewed", None)  # the claim ends with the signed review
    patient_view = token_client(flagged.owner).get(reverse("api:scan", args=[flagged.pk])).json()
    assert patient_view["review"]["patient_note"] == "The lungs are clear."
    assert set(AuditEvent.objects.filter(actor=radiologist).values_list("action", flat=True)) == {"claimed", "reviewed"}


def test_a_case_another_radiologist_holds_cannot_be_reviewed(radiologist, flagged):
    other = RadiologistFactory()
    services.claim(flagged.pk, other)

    response = token_client(radiologist).post(review_url(flagged), {"finding": "pneumonia"})

    assert response.status_code == 409
    assert not Review.objects.exists()


def test_a_case_already_reviewed_is_not_found_by_another_radiologist(radiologist):
    scan = ReviewFactory().scan

    response = token_client(radiologist).post(review_url(scan), {"finding": "pneumonia"})

    assert response.status_code == 404


def test_a_reviewer_posting_again_is_told_the_case_needs_no_review(flagged):
    review = ReviewFactory(prediction=flagged.latest_prediction, scan=flagged)

    response = token_client(review.radiologist).post(review_url(flagged), {"finding": "pneumonia"})

    assert response.status_code == 409
    assert Review.objects.count() == 1


def test_a_radiologist_cannot_review_their_own_xray(radiologist):
    own = PredictionFactory(scan__owner=radiologist).scan

    response = token_client(radiologist).post(review_url(own), {"finding": "pneumonia"})

    assert response.status_code == 409
    assert not Review.objects.exists()


def test_a_finding_is_required_and_must_be_one_of_the_choices(radiologist, flagged):
    api = token_client(radiologist)

    assert "finding" in api.post(review_url(flagged), {}).json()
    assert "finding" in api.post(review_url(flagged), {"finding": "probably fine"}).json()
    assert not Review.objects.exists()


def test_a_patient_cannot_post_a_review(flagged):
    response = token_client(UserFactory()).post(review_url(flagged), {"finding": "pneumonia"})

    assert response.status_code == 404
