"""What follows the worker's outcome for a scan: the worker's task knows only the scan and the model."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from hospitals.models import ResultDelivery, Site
from hospitals.notifications import send_results_to_site
from reviews.models import Review
from reviews.services import open_case_for_reading
from scans.models import Prediction, Scan
from scans.notifications import notify_result_ready

log = logging.getLogger(__name__)


def record_reading(scan: Scan, prediction: Prediction | None = None) -> None:
    """Called in the transaction that records the scan's outcome (scan.status already set): a new reading
    that needs a human goes on the worklist; the patient is told by email and the site's PACS gets the
    results, each once the transaction commits."""
    if prediction is not None:
        open_case_for_reading(scan, prediction)
    notify_result_ready(scan)
    if scan.status == Scan.Status.DONE:
        send_results_to_site(scan)


# The sweeper's window: results older than two days are an admin's to send again (Send again), and those
# younger than the delivery retries' hour may still be on their way.
SWEEP_NEWER_THAN = timedelta(days=2)
SWEEP_OLDER_THAN = timedelta(hours=1)


def revision_in_sql() -> Case:
    """hospitals.scan_results.revision_of, as a column of a query over scans (the sweeper's: which
    revision is current): 2 once a radiologist has signed."""
    return Case(When(Exists(Review.objects.filter(scan=OuterRef("pk"))), then=Value(2)), default=Value(1))


def resend_undelivered_results(now: datetime | None = None) -> int:
    """Queue again the results whose task never ran (the broker was down when the reading or the review
    committed): a site's finished scan with a destination whose current SR is neither stored nor given up.
    Here, not in hospitals: "current" is the review's business (signed means revision 2)."""
    now = now or timezone.now()
    window = (now - SWEEP_NEWER_THAN, now - SWEEP_OLDER_THAN)
    settled = ResultDelivery.objects.filter(
        scan=OuterRef("pk"),
        kind=ResultDelivery.Kind.STRUCTURED_REPORT,
        revision=OuterRef("current_revision"),
        state__in=[ResultDelivery.State.SENT, ResultDelivery.State.FAILED],
    )
    signed_in_window = Review.objects.filter(created_at__range=window).values("scan")
    due = (
        Scan.objects.filter(site__in=Site.objects.with_destination(), status=Scan.Status.DONE)
        .filter(Q(finished_at__range=window) | Q(pk__in=signed_in_window))
        .annotate(current_revision=revision_in_sql())
        .filter(~Exists(settled))
    )
    count = 0
    for scan in due.only("pk", "site_id"):
        send_results_to_site(scan)
        count += 1
    if count:
        log.warning("queued the results of %s scans again for their sites", count)
    return count
