"""The review loop's state changes: putting a scan on the worklist, claiming a case, giving it back,
and signing the review.

Claims are conditional UPDATEs of the case's row, so two radiologists racing for one case cannot both
win: the database lets one UPDATE match the row, and the other finds it taken.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from reviews.models import Review, ReviewCase, due_at
from scans.models import Prediction, Scan

log = logging.getLogger(__name__)

# Stronger reasons replace weaker ones as a case's reason (ReviewCase.Reason is listed in this order).
REASON_STRENGTH = {reason: rank for rank, reason in enumerate(reversed(ReviewCase.Reason.values))}


class ClaimNotHeld(Exception):
    """The radiologist does not hold the case (any longer), so may not sign its review."""


def reason_for_reading(scan: Scan, prediction: Prediction) -> str | None:
    """Why this reading needs a human, or None: danger signs reported, flagged by the model, an age
    outside the model's training population (or unknown), every result where the site holds results
    back until review, or else the scan's draw for the quality-control sample."""
    if scan.danger_signs:
        return ReviewCase.Reason.URGENT_CARE
    if prediction.indeterminate:
        return ReviewCase.Reason.INDETERMINATE
    if prediction.needs_review:
        return ReviewCase.Reason.PNEUMONIA
    if scan.population_warning:
        return ReviewCase.Reason.POPULATION
    if settings.HOLD_AI_RESULTS_UNTIL_REVIEW:
        return ReviewCase.Reason.SITE_POLICY
    if qc_draw(scan.pk) < settings.QC_SAMPLE_RATE:
        return ReviewCase.Reason.QC_SAMPLE
    return None


def qc_draw(scan_id: int) -> float:
    """The scan's draw for the quality-control sample, uniform in [0, 1): an HMAC of its id under a key
    derived from SECRET_KEY. The same scan always draws the same, so a redelivered task or a re-run
    cannot sample it twice differently; without the key, nobody can tell which uploads will be drawn."""
    digest = salted_hmac("reviews.qc_sample", str(scan_id), algorithm="sha256").digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def sampling_probability_of(reason: str) -> float:
    """The chance that a reading like this one reached the worklist: adaptation weights its verdict by
    the inverse, so the few cleared readings sampled stand for all the cleared ones."""
    return settings.QC_SAMPLE_RATE if reason == ReviewCase.Reason.QC_SAMPLE else 1.0


def priority_of(scan: Scan, reason: str) -> int:
    """Danger signs come first on the worklist, quality-control samples last; in a tier, cases go by
    probability and wait (due_at)."""
    if scan.danger_signs:
        return ReviewCase.Priority.URGENT
    if reason == ReviewCase.Reason.QC_SAMPLE:
        return ReviewCase.Priority.QC_SAMPLE
    return ReviewCase.Priority.ROUTINE


def open_case_for_reading(scan: Scan, prediction: Prediction, now: datetime | None = None) -> ReviewCase | None:
    """Put the scan on the worklist when its new reading needs a human; a waiting case takes the new
    reading's figures. Once flagged, a human looks: a later reading that needs no review keeps the case."""
    reason = reason_for_reading(scan, prediction)
    case = ReviewCase.objects.filter(scan=scan).first()
    if reason is None and case is None:
        return None
    chance = sampling_probability_of(reason) if reason else None
    return _open(scan, reason or case.reason, prediction, now or timezone.now(), chance)


# Where a patient's request for a review stands: the one rule the scan page and request_review share.
NOTHING_TO_ASK = "nothing to ask"  # the reading is unfinished, or a radiologist has signed
ASKED = "asked"
ON_THE_WORKLIST = "on the worklist"  # a reason other than a quality-control sample put it there
MAY_ASK = "may ask"


def review_request_state(scan: Scan, case: ReviewCase | None) -> str:
    """`case`: the scan's review case, or None. On the worklist already, a request is still taken (it is
    noted, and the wait is kept); the page says so instead of offering the button."""
    if not scan.is_finished or scan.reviews.exists():
        return NOTHING_TO_ASK
    if case is not None and case.requested_at is not None:
        return ASKED
    waiting = case is not None and case.state == ReviewCase.State.WAITING
    if waiting and case.reason != ReviewCase.Reason.QC_SAMPLE:
        return ON_THE_WORKLIST
    return MAY_ASK


def request_review(scan: Scan, now: datetime | None = None) -> bool:
    """The patient asks for a radiologist's review; False when there is nothing to ask (unfinished or
    reviewed) or it was asked for already."""
    now = now or timezone.now()
    with transaction.atomic():
        case = ReviewCase.objects.select_for_update().filter(scan=scan).first()
        if review_request_state(scan, case) in (NOTHING_TO_ASK, ASKED):
            return False
        case = _open(scan, ReviewCase.Reason.REQUESTED, scan.latest_prediction, now)
        ReviewCase.objects.filter(pk=case.pk).update(requested_at=now)
    return True


def _open(
    scan: Scan, reason: str, prediction: Prediction | None, now: datetime, sampling_probability: float | None = None
) -> ReviewCase:
    """Create the scan's case, or bring a waiting one up to date: the stronger reason, the latest reading,
    and the wait counted from the first reason (a request on a flagged case does not reset its wait).

    A sampled case that gets a stronger reason (flagged by a later reading, asked for by the patient)
    leaves the quality-control tier. Its sampling chance comes from readings only, the highest any gave:
    a patient's request is no random draw, so a sampled case the patient asks about still stands for
    the cleared readings nobody asked about, and a case only a request put on the list has no known
    chance (0: its verdict is shown but stands for nothing else)."""
    defaults = {"reason": reason, "prediction": prediction, "waiting_since": now, "due_at": now}
    with transaction.atomic():
        case, created = ReviewCase.objects.select_for_update().get_or_create(
            scan=scan,
            site_id=scan.site_id,
            defaults=defaults | {"sampling_probability": sampling_probability or 0.0},
        )
        if case.state != ReviewCase.State.WAITING:
            return case
        if not created and REASON_STRENGTH[reason] > REASON_STRENGTH[case.reason]:
            case.reason = reason
        case.prediction = prediction or case.prediction
        if created:
            case.priority = priority_of(scan, case.reason)
        else:
            case.priority = max(case.priority, priority_of(scan, case.reason))
            case.sampling_probability = max(case.sampling_probability, sampling_probability or 0.0)
        case.due_at = due_at(case.waiting_since, case.ai_probability)
        case.save(update_fields=["reason", "prediction", "priority", "sampling_probability", "due_at"])
    return case


def claim(scan_id: int, radiologist, now: datetime | None = None) -> bool:
    """Take the case for this radiologist; False when someone else holds a live claim or it needs no review.

    Taking it again refreshes one's own claim. A patient's own X-ray is never theirs to review.
    """
    now = now or timezone.now()
    takeable = Q(claimed_by__isnull=True) | Q(claim_expires_at__lt=now) | Q(claimed_by=radiologist)
    waiting = ReviewCase.objects.waiting().for_reader(radiologist).filter(takeable, scan_id=scan_id)
    # The scan's status and owner are joins, so Django writes UPDATE ... WHERE id IN (SELECT ...), and
    # PostgreSQL re-checks only the row's own columns against a claim a concurrent UPDATE just wrote:
    # the state and `takeable` are repeated there.
    row = ReviewCase.objects.filter(takeable, state=ReviewCase.State.WAITING, pk__in=waiting.values("pk"))
    return bool(row.update(claimed_by=radiologist, claim_expires_at=_claim_expiry(now)))


def assign(scans, radiologist, now: datetime | None = None) -> int:
    """An admin hands waiting cases to a radiologist, taking them from whoever held them."""
    now = now or timezone.now()
    cases = ReviewCase.objects.waiting().for_reader(radiologist).filter(scan__in=scans)
    return ReviewCase.objects.filter(pk__in=list(cases.values_list("pk", flat=True))).update(
        claimed_by=radiologist, claim_expires_at=_claim_expiry(now)
    )


def release(scan_id: int, radiologist) -> bool:
    """Give a case back to the worklist; only its holder can."""
    held = ReviewCase.objects.filter(scan_id=scan_id, claimed_by=radiologist)
    return bool(held.update(claimed_by=None, claim_expires_at=None))


def release_claims(scans) -> int:
    """An admin frees stuck cases, whoever held them."""
    held = ReviewCase.objects.filter(scan__in=scans, claimed_by__isnull=False)
    return held.update(claimed_by=None, claim_expires_at=None)


def release_abandoned_claims(now: datetime | None = None) -> int:
    """Free every claim past its expiry (the worklist already treats them as free)."""
    abandoned = ReviewCase.objects.filter(claim_expires_at__lt=now or timezone.now())
    count = abandoned.update(claimed_by=None, claim_expires_at=None)
    if count:
        log.info("released %s abandoned review claims", count)
    return count


def submit_review(scan: Scan, radiologist, *, finding: str, patient_note: str = "", internal_note: str = "") -> Review:
    """Sign the review of a case the radiologist holds and close the case; what follows is
    actions.reviews.sign_review's, which the web and the API call.

    A claim that lapsed but that nobody took over still counts: the radiologist was still working on it.
    """
    try:
        with transaction.atomic():
            held = ReviewCase.objects.filter(scan=scan, claimed_by=radiologist, state=ReviewCase.State.WAITING)
            closed = held.update(
                state=ReviewCase.State.REVIEWED, claimed_by=None, claim_expires_at=None, closed_at=timezone.now()
            )
            if not closed:
                raise ClaimNotHeld("Another radiologist has this case, or it is not claimed.")
            review = Review.objects.create(
                scan=scan,
                radiologist=radiologist,
                prediction=scan.latest_prediction,
                finding=finding,
                patient_note=patient_note,
                internal_note=internal_note,
            )
    except IntegrityError as error:  # one review per scan: someone signed first
        raise ClaimNotHeld("This case has already been reviewed.") from error
    return review


# What a signed finding teaches the site's head (adaptation): inconclusive teaches nothing.
VERDICT_LABELS = {Review.Finding.PNEUMONIA: "pneumonia", Review.Finding.NO_PNEUMONIA: "normal"}


def verdict_weight_of(scan: Scan) -> float:
    """verdict_weight of the scan's case (none when a review came without one)."""
    return verdict_weight(ReviewCase.objects.filter(scan=scan).values("sampling_probability").first())


def verdict_weight(case: dict | None) -> float:
    """The inverse of the chance that a reading like this reached a radiologist (the case's sampling
    probability). A patient's request on a cleared reading is self-selected (worried parents, odd
    films): no known chance (0), so its verdict is kept as a reference case with weight 0, shown but
    left out of fitting. A quality-control sample the patient then asked about keeps its draw's chance."""
    if case is None:
        return 1.0
    return 1.0 / case["sampling_probability"] if case["sampling_probability"] > 0 else 0.0


def _claim_expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)
