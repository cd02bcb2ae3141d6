"""What follows a signed review: the review loop's own app only closes the case and keeps the review."""

from __future__ import annotations

from django.db import transaction

from adaptation.verdicts import record_verdict
from hospitals.notifications import send_results_to_site
from reviews.models import Review
from reviews.notifications import notify_review_done
from reviews.services import VERDICT_LABELS, submit_review, verdict_weight_of
from scans.models import Scan


def sign_review(scan: Scan, radiologist, *, finding: str, patient_note: str = "", internal_note: str = "") -> Review:
    """Sign the review of a case the radiologist holds (reviews.services.submit_review, which raises
    ClaimNotHeld), then, once it commits: the patient's email, the site's PACS, and the verdict as a
    reference case for the site's reading head."""
    with transaction.atomic():
        review = submit_review(
            scan, radiologist, finding=finding, patient_note=patient_note, internal_note=internal_note
        )
        notify_review_done(review)
        send_results_to_site(scan)
        record_verdict(scan, review.prediction, VERDICT_LABELS.get(finding), verdict_weight_of(scan))
    return review
