"""Sending again the imports and fits whose message was lost (broker down when staff asked, worker killed).
The tasks claim their row, so a message sent twice does the work once."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from adaptation.models import AdaptationRun, Job, ReferenceImport

QUEUED_TOO_LONG = timedelta(minutes=10)
# The tasks' hard time limits (adaptation/tasks.py), after which a running job was abandoned.
IMPORT_LIMIT, ADAPT_LIMIT = timedelta(hours=3), timedelta(minutes=30)


def requeue_unfinished(now=None) -> int:
    now = now or timezone.now()
    count = 0
    for model, limit in ((ReferenceImport, IMPORT_LIMIT), (AdaptationRun, ADAPT_LIMIT)):
        stuck = model.objects.filter(
            Q(status=Job.QUEUED, created_at__lt=now - QUEUED_TOO_LONG)
            | Q(status=Job.RUNNING, started_at__lt=now - limit - timedelta(seconds=30))
        )
        for job in stuck.only("pk"):
            job.start()
            count += 1
    return count
