"""A case's review page: the viewer, the model's reading, the patient's earlier X-rays, and the decision."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews import services
from reviews.models import Review, ReviewCase
from tests.factories import PredictionFactory, RadiologistFactory, ReviewFactory, private_media  # noqa: F401


@pytest.fixture
def radiologist(db):
    return RadiologistFactory()


@pytest.fixture
def case(db):
    return PredictionFactory(probability=0.82, model_version="pneumonia-v3+abc").scan


def case_url(scan) -> str:
    return reverse("reviews:case", args=[scan.pk])


def open_case(client, radiologist, scan) -> str:
    client.force_login(radiologist)
    return client.get(case_url(scan)).content.decode()


def sign(client, scan, **fields):
    data = {
        "finding": Review.Finding.PNEUMONIA,
        "patient_note": "Pneumonia, see your doctor today.",
        "internal_note": "RLL",
    }
    return client.post(case_url(scan), {**data, **fields})


def test_it_shows_the_viewer_heatmap_and_the_models_reading(client, radiologist, case):
    page = open_case(client, radiologist, case)

    assert reverse("scans:image", args=[case.pk]) in page
    assert reverse("scans:heatmap", args=[case.pk]) in page
    for control in (
        "data-viewer-zoom",
        "data-viewer-brightness",
        "data-viewer-contrast",
        "data-viewer-invert",
        "data-viewer-heatmap-opacity",
    ):
        assert control in page
    assert "js/viewer.js" in page
    assert "82%" in page
    assert "Pneumonia suspected" in page
    assert "pneumonia-v3+abc" in page


def test_it_has_no_inline_script_or_style(client, radiologist, case):
    services.claim(case.pk, radiologist)

    page = open_case(client, radiologist, case)

    assert "<script>" not in page
    assert " style=" not in page
    assert " onclick=" not in page


def test_the_decision_form_is_shown_only_to_the_radiologist_holding_the_case(client, radiologist, case):
    colleague = RadiologistFactory()
    unclaimed = open_case(client, radiologist, case)
    services.claim(case.pk, colleague)
    held_by_colleague = open_case(client, radiologist, case)
    held = open_case(client, colleague, case)

    assert "Claim this case" in unclaimed and "Sign the review" not in unclaimed
    assert f"{colleague.email}</strong> is reviewing this case" in held_by_colleague
    assert "Sign the review" not in held_by_colleague
    assert "Sign the review" in held
    for finding in ("Pneumonia", "No pneumonia", "Inconclusive \u2014 repeat imaging advised"):
        assert finding in held
    assert 'name="finding" value=""' not in held  # a finding is chosen, never defaulted


def test_the_patients_earlier_xrays_are_shown_with_their_results_once_the_case_is_held(client, radiologist, case):
    earlier = PredictionFactory(
        normal=True,
        scan__owner=case.owner,
        scan__patient=case.patient,
        scan__created_at=case.created_at - timedelta(days=30),
    ).scan
    ReviewFactory(prediction=earlier.latest_prediction, finding=Review.Finding.NO_PNEUMONIA)
    unrelated = PredictionFactory(normal=True).scan
    before_claiming = open_case(client, radiologist, case)
    services.claim(case.pk, radiologist)

    page = open_case(client, radiologist, case)

    assert reverse("scans:image", args=[earlier.pk]) not in before_claiming
    assert reverse("scans:image", args=[earlier.pk]) in page
    assert "<strong>7%</strong> \u00b7 No pneumonia detected" in page
    assert "No pneumonia</span>" in page  # the earlier radiologist's finding
    assert reverse("scans:image", args=[unrelated.pk]) not in page
    assert client.get(reverse("scans:image", args=[earlier.pk])).status_code == 200


def test_signing_saves_the_review_ends_the_claim_and_derives_agreement(client, radiologist, case):
    services.claim(case.pk, radiologist)
    client.force_login(radiologist)

    response = sign(client, case, finding=Review.Finding.NO_PNEUMONIA, agrees_with_ai="yes")

    assert response["Location"] == reverse("reviews:worklist")
    review = Review.objects.get(scan=case)
    assert (review.radiologist, review.finding, review.internal_note) == (radiologist, "no_pneumonia", "RLL")
    assert review.prediction == case.latest_prediction
    assert review.agrees_with_ai is False  # the model said pneumonia; the posted "agrees" field is ignored
    review_case = ReviewCase.objects.get(scan=case)
    assert (review_case.state, review_case.claimed_by) == ("reviewed", None)
    assert case.pk not in ReviewCase.objects.waiting().values_list("scan", flat=True)


@pytest.mark.parametrize(
    ("label", "finding", "agrees"),
    [
        ("pneumonia", Review.Finding.PNEUMONIA, True),
        ("pneumonia", Review.Finding.NO_PNEUMONIA, False),
        ("normal", Review.Finding.NO_PNEUMONIA, True),
        ("normal", Review.Finding.PNEUMONIA, False),
        ("pneumonia", Review.Finding.INCONCLUSIVE, None),
    ],
)
def test_agreement_with_the_model_follows_from_the_finding(db, label, finding, agrees):
    prediction = PredictionFactory(label=label)

    assert ReviewFactory(prediction=prediction, finding=finding).agrees_with_ai is agrees


def test_a_radiologist_who_does_not_hold_the_case_cannot_sign(client, radiologist, case):
    services.claim(case.pk, RadiologistFactory())
    client.force_login(radiologist)

    response = sign(client, case)

    assert response["Location"] == case_url(case)
    assert not Review.objects.exists()


def test_a_lapsed_claim_taken_over_by_a_colleague_cannot_be_signed(client, radiologist, case, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    services.claim(case.pk, radiologist, now=timezone.now() - timedelta(minutes=31))
    colleague = RadiologistFactory()
    services.claim(case.pk, colleague)
    client.force_login(radiologist)

    sign(client, case)

    assert not Review.objects.exists()


def test_a_lapsed_claim_nobody_took_can_still_be_signed(client, radiologist, case, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    services.claim(case.pk, radiologist, now=timezone.now() - timedelta(minutes=31))
    client.force_login(radiologist)

    sign(client, case)

    assert Review.objects.filter(scan=case, radiologist=radiologist).exists()


def test_a_decision_without_a_finding_shows_the_form_again(client, radiologist, case):
    services.claim(case.pk, radiologist)
    client.force_login(radiologist)

    response = sign(client, case, finding="")

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not Review.objects.exists()


def test_a_case_cannot_be_reviewed_twice(db, case, radiologist):
    services.claim(case.pk, radiologist)
    services.submit_review(case, radiologist, finding=Review.Finding.PNEUMONIA)
    # As if a second signature raced the first: the case still looks waiting and held.
    ReviewCase.objects.filter(scan=case).update(
        state="waiting", claimed_by=radiologist, claim_expires_at=timezone.now() + timedelta(minutes=5)
    )

    with pytest.raises(services.ClaimNotHeld):
        services.submit_review(case, radiologist, finding=Review.Finding.NO_PNEUMONIA)

    assert Review.objects.filter(scan=case).count() == 1


def test_the_reviewing_radiologist_can_read_the_signed_review_with_its_agreement(client, radiologist):
    review = ReviewFactory(radiologist=radiologist, finding=Review.Finding.PNEUMONIA)

    page = open_case(client, radiologist, review.scan)

    assert "Agrees with the computer reading" in page
    assert review.internal_note in page
    assert "Sign the review" not in page


def test_the_patient_then_sees_the_radiologists_finding_and_note_but_not_the_internal_note(client, radiologist, case):
    services.claim(case.pk, radiologist)
    client.force_login(radiologist)
    sign(
        client,
        case,
        finding=Review.Finding.INCONCLUSIVE,
        patient_note="Please have the X-ray repeated.",
        internal_note="Rotated film",
    )
    client.force_login(case.owner)

    page = client.get(reverse("scans:detail", args=[case.pk])).content.decode()

    assert "Reviewed by a radiologist" in page
    assert "Inconclusive \u2014 repeat imaging advised" in page
    assert "Please have the X-ray repeated." in page
    assert "Rotated film" not in page
    assert "Computer reading" in page  # still shown, and apart from the radiologist's
    assert "Ask for a radiologist" not in page
