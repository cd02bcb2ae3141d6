"""The PDF report of a scan: thumbnails, the computer reading, the radiologist's review, the disclaimer."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from scans.report import disclaimer, render_report, report_story
from tests.factories import PredictionFactory, ReviewFactory, ScanFactory, UserFactory, private_media  # noqa: F401

DISCLAIMER = (
    "This reading comes from a computer model trained on 5,216 chest X-rays of children aged one to five from "
    "one hospital in Guangzhou, China. It is a screening aid, not a diagnosis; it is not validated for adults or "
    "for other conditions. A clinician makes the diagnosis."
)


def report_text(scan, user) -> str:
    return "\n".join(
        flowable.getPlainText() for flowable in report_story(scan, user) if hasattr(flowable, "getPlainText")
    )


def test_the_report_has_the_reading_the_review_and_the_disclaimer(db):
    review = ReviewFactory(internal_note="RLL consolidation, compare with old films.")
    scan = review.scan

    text = report_text(scan, scan.owner)

    assert "Pneumonia suspected: 82% estimated chance of pneumonia. Flagged for a radiologist's review." in text
    assert f"Model version {review.prediction.model_version}" in text
    assert "Finding: Pneumonia" in text and review.patient_note in text
    assert "compare with old films" not in text
    assert DISCLAIMER in text
    assert scan.original_filename in text


def test_the_disclaimer_is_the_web_pages_own():
    assert disclaimer() == DISCLAIMER


def test_an_unfinished_scan_says_the_reading_is_not_ready(db):
    scan = ScanFactory()

    text = report_text(scan, scan.owner)

    assert "Not ready yet" in text and "No radiologist has reviewed this X-ray." in text


def test_a_reading_held_for_review_is_left_out(db, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    scan = PredictionFactory().scan

    text = report_text(scan, scan.owner)

    assert "Held until a radiologist has reviewed the X-ray." in text
    assert "82%" not in text


def test_the_pdf_embeds_the_xray_and_the_heatmap_overlay(db):
    scan = PredictionFactory().scan

    pdf = render_report(scan, scan.owner)

    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Subtype /Image") == 2
    assert scan.owner.email.encode() not in pdf


def test_a_missing_stored_image_still_gives_a_report(db):
    scan = PredictionFactory().scan
    scan.image.storage.delete(scan.image.name)

    assert "The X-ray image is not available." in report_text(scan, scan.owner)
    assert render_report(scan, scan.owner).startswith(b"%PDF")


def test_the_owner_downloads_the_report_from_the_detail_page(client, db):
    scan = ReviewFactory().scan
    client.force_login(scan.owner)

    page = client.get(scan.get_absolute_url()).content.decode()
    response = client.get(reverse("scans:report", args=[scan.pk]))

    assert reverse("scans:report", args=[scan.pk]) in page
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="scan-{scan.pk}-report.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(actor=scan.owner, action="downloaded", detail="report").exists()


@pytest.mark.parametrize("who", ["another patient", "anonymous"])
def test_nobody_else_gets_the_report(client, db, who):
    scan = PredictionFactory().scan
    if who == "another patient":
        client.force_login(UserFactory())

    assert client.get(reverse("scans:report", args=[scan.pk])).status_code in (302, 404)
