"""The review loop's state changes: claiming a case, giving it back, and signing the review.

Claims are conditional UPDATEs, so two radiologists racing for one case cannot both win: the
database lets one UPDATE match the row, and the other finds it taken.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from reviews.models import Review
from reviews.notifications import notify_review_done
from scans.models import Scan, review_claim_cutoff

log = logging.getLogger(__name__)


class ClaimNotHeld(Exception):
    """The radiologist does not hold the case (any longer), so may not sign its review."""


def claim(scan_id: int, radiologist, now=None) -> bool:
    """Take the case for this radiologist; False when someone else holds a live claim or it needs no review.

    Taking it again refreshes one's own claim. A patient's own X-ray is never theirs to review.
    """
    now = now or timezone.now()
    free = (
        Q(review_claimed_by__isnull=True)
        | Q(review_claimed_by=radiologist)
        | Q(review_claimed_at__lt=review_claim_cutoff(now))
    )
    # Conditions on the row's own columns (and EXISTS subqueries), no joins: Django issues a plain
    # UPDATE ... WHERE, which PostgreSQL re-checks against the row a concurrent claim just wrote.
    claimable = Scan.objects.awaiting_review().exclude(owner=radiologist).filter(free, pk=scan_id)
    return bool(claimable.update(review_claimed_by=radiologist, review_claimed_at=now))


def assign(scans, radiologist, now=None) -> int:
    """An admin hands waiting cases to a radiologist, taking them from whoever held them."""
    now = now or timezone.now()
    waiting = Scan.objects.awaiting_review().exclude(owner=radiologist).filter(pk__in=[scan.pk for scan in scans])
    return waiting.update(review_claimed_by=radiologist, review_claimed_at=now)


def release(scan_id: int, radiologist) -> bool:
    """Give a case back to the worklist; only its holder can."""
    held = Scan.objects.filter(pk=scan_id, review_claimed_by=radiologist)
    return bool(held.update(review_claimed_by=None, review_claimed_at=None))


def release_claims(scans) -> int:
    """An admin frees stuck cases, whoever held them."""
    return Scan.objects.filter(pk__in=[scan.pk for scan in scans]).update(
        review_claimed_by=None, review_claimed_at=None
    )


def release_abandoned_claims(now=None) -> int:
    """Free every claim older than REVIEW_CLAIM_MINUTES (the worklist already treats them as free)."""
    abandoned = Scan.objects.filter(review_claimed_at__lt=review_claim_cutoff(now))
    count = abandoned.update(review_claimed_by=None, review_claimed_at=None)
    if count:
        log.info("released %s abandoned review claims", count)
    return count


def submit_review(scan: Scan, radiologist, *, finding: str, patient_note: str = "", internal_note: str = "") -> Review:
    """Sign the review of a case the radiologist holds, end the claim and tell the patient (after commit).

    A claim that lapsed but that nobody took over still counts: the radiologist was still working on it.
    """
    try:
        with transaction.atomic():
            held = Scan.objects.filter(pk=scan.pk, review_claimed_by=radiologist)
            if not held.update(review_claimed_by=None, review_claimed_at=None):
                raise ClaimNotHeld("Another radiologist has this case, or it is not claimed.")
            review = Review.objects.create(
                scan=scan,
                radiologist=radiologist,
                prediction=scan.latest_prediction,
                finding=finding,
                patient_note=patient_note,
                internal_note=internal_note,
            )
            notify_review_done(review)
    except IntegrityError as error:  # one review per scan: someone signed first
        raise ClaimNotHeld("This case has already been reviewed.") from error
    return review
