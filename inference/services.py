"""Running the model on a scan and writing the result back, safely under redelivery and retries."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from actions.readings import record_reading
from adaptation.heads import head_for
from inference.heatmaps import render_heatmap_png
from inference.worker_model import get_predictor
from operations.log_context import about_scan
from scans.models import Prediction, Scan

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
# Stored in English, as the model's refusals are; Scan.shown_status_reason translates them for the reader.
FAILED_AFTER_ATTEMPTS = gettext_noop(
    "We could not read this X-ray after several attempts. Our team has been notified; "
    "you can delete it and upload the file again."
)
FAILED_UNEXPECTEDLY = gettext_noop(
    "Something went wrong while reading this X-ray. Our team has been notified; "
    "you can delete it and upload the file again."
)


def take_for_task(scan_id: int, task_id: str) -> Scan | None:
    """Take the scan for this task, or None when another live task holds it or it is finished.

    A task that was retried or redelivered after its worker died keeps its id, so it may take back a
    scan it already holds; a hold older than the hard time limit is abandoned and may be taken over.
    """
    now = timezone.now()
    abandoned_before = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)
    takeable = Q(status=Scan.Status.QUEUED) | Q(
        Q(worker_task_id=task_id) | Q(started_at__lt=abandoned_before), status=Scan.Status.PROCESSING
    )
    updated = Scan.objects.filter(takeable, pk=scan_id).update(
        status=Scan.Status.PROCESSING, worker_task_id=task_id, started_at=now, attempts=F("attempts") + 1
    )
    return Scan.objects.select_related("owner").filter(pk=scan_id).first() if updated else None  # owner: for the email


def process_scan(scan_id: int, task_id: str) -> str:
    with about_scan(scan_id):
        return _take_and_read(scan_id, task_id)


def _take_and_read(scan_id: int, task_id: str) -> str:
    scan = take_for_task(scan_id, task_id)
    if scan is None:
        return "skipped"
    if scan.attempts > MAX_ATTEMPTS:
        finish(scan, Scan.Status.FAILED, FAILED_AFTER_ATTEMPTS)
        log.error("scan %s failed after %s attempts", scan.pk, scan.attempts - 1)
        return Scan.Status.FAILED
    try:
        return predict_and_save(scan)
    except Exception as error:
        if _is_transient(error):
            raise
        log.exception("inference failed for scan %s", scan.pk)
        finish(scan, Scan.Status.FAILED, FAILED_UNEXPECTEDLY)
        return Scan.Status.FAILED


def _is_transient(error: Exception) -> bool:
    from celery.exceptions import SoftTimeLimitExceeded

    from portal.celery import transient_errors

    return isinstance(error, (*transient_errors(), SoftTimeLimitExceeded))


def predict_and_save(scan: Scan) -> str:
    predictor = get_predictor()
    head, head_label = head_for(scan, predictor.version)
    existing = scan.predictions.filter(model_version=predictor.version + head_label).first()
    if existing is not None:  # an earlier delivery got this far before it was lost
        finish(scan, Scan.Status.DONE)
        return Scan.Status.DONE
    with scan.image.open("rb") as stored:
        data = stored.read()
    started = time.perf_counter()
    reading = predictor.predict(data, head=head, head_label=head_label)
    inference_ms = (time.perf_counter() - started) * 1000
    if reading.rejected:
        finish(scan, Scan.Status.REJECTED, reading.reason)
        return Scan.Status.REJECTED
    heatmap = ContentFile(render_heatmap_png(reading.heatmap, scan.width, scan.height), name="heatmap.png")
    queue_ms = (scan.started_at - scan.queued_at).total_seconds() * 1000 if scan.queued_at else 0.0
    with transaction.atomic():
        prediction, created = Prediction.objects.get_or_create(
            scan=scan,
            model_version=reading.model_version,
            defaults={
                "probability": reading.probability,
                "label": reading.label,
                "needs_review": reading.needs_review,
                "indeterminate": reading.indeterminate,
                "heatmap": heatmap,
                "inference_ms": inference_ms,
                "queue_ms": queue_ms,
                "logit": reading.logit,
                "embedding": reading.embedding.astype("float32").tobytes(),
                "embedding_distance": reading.embedding_distance,
                "threshold": reading.threshold,
                "review_from": reading.review_from,
            },
        )
        finish(scan, Scan.Status.DONE, prediction=prediction)
    return Scan.Status.DONE


def finish(scan: Scan, status: str, reason: str = "", prediction: Prediction | None = None) -> None:
    """Record the outcome; what follows it (a case for a new reading, the email, the PACS) is record_reading's."""
    Scan.objects.filter(pk=scan.pk).update(
        status=status, status_reason=reason, finished_at=timezone.now(), worker_task_id=""
    )
    scan.status, scan.status_reason = status, reason
    record_reading(scan, prediction)


def requeue_stuck_scans(now=None) -> int:
    """Enqueue again scans whose message was lost: queued too long, or held by a worker that died."""
    now = now or timezone.now()
    queued_before = now - timedelta(seconds=settings.SCAN_REQUEUE_AFTER_SECONDS)
    abandoned_before = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 30)
    stuck = Scan.objects.filter(
        Q(status=Scan.Status.QUEUED, queued_at__lt=queued_before)
        | Q(status=Scan.Status.QUEUED, queued_at__isnull=True)
        | Q(status=Scan.Status.PROCESSING, started_at__lt=abandoned_before)
    )
    count = 0
    for scan in stuck.only("pk"):
        with transaction.atomic():
            scan.start_inference()
        count += 1
    if count:
        log.warning("requeued %s stuck scans", count)
    return count
