"""Requesting, building and expiring data exports: the slow work runs in a worker, not the request."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from accounts.emails import link, send_to_user
from accounts.language import in_language_of
from exports.archive import export_zip
from exports.models import DataExport
from portal.celery import send_after_commit, transient_errors

log = logging.getLogger(__name__)
# Queued by name (exports/tasks.py registers it), so services and tasks do not import each other.
BUILD_EXPORT_TASK = "exports.tasks.build_data_export"
BUILD_TIME_LIMIT_SECONDS = 660


def request_export(user, patient=None) -> DataExport:
    """The user's unfinished export of the same scope (everything, or one profile's X-rays), or a new one
    queued for a worker once this transaction commits."""
    with transaction.atomic():
        unfinished = DataExport.objects.select_for_update().filter(owner=user, status=DataExport.Status.QUEUED)
        pending = unfinished.filter(patient=patient).first()
        if pending is not None:
            return pending
        export = DataExport.objects.create(owner=user, patient=patient)
        send_after_commit(BUILD_EXPORT_TASK, export_id=export.pk)  # a broker outage leaves it for the sweeper
    return export


def take_for_worker(export_id: int) -> DataExport | None:
    """Take the export for this worker, unless another took it less than a task time limit ago."""
    now = timezone.now()
    abandoned_before = now - timezone.timedelta(seconds=BUILD_TIME_LIMIT_SECONDS + 30)
    taken = DataExport.objects.filter(
        Q(started_at__isnull=True) | Q(started_at__lt=abandoned_before), pk=export_id, status=DataExport.Status.QUEUED
    ).update(started_at=now)
    return DataExport.objects.select_related("owner", "patient").get(pk=export_id) if taken else None


def build(export_id: int) -> str:
    """Write the zip and mark the export ready; a second delivery of the same task does nothing."""
    export = take_for_worker(export_id)
    if export is None:
        return "skipped"
    try:
        # In the owner's language: the README and the PDF reports in the zip are for them.
        with in_language_of(export.owner), export_zip(export.owner, export.patient) as archive:
            export.file.save("export.zip", File(archive), save=False)
    except transient_errors():
        raise  # the house task retries these
    except Exception:
        # Anything else would fail the same way on every retry: say so on the page, keep the traceback.
        log.exception("data export %s could not be built", export.pk)
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.FAILED)
        return DataExport.Status.FAILED
    export.size_bytes = export.file.size
    export.status, export.ready_at = DataExport.Status.READY, timezone.now()
    export.save(update_fields=["file", "size_bytes", "status", "ready_at"])
    if export.owner.notify_by_email:
        with in_language_of(export.owner):
            days = settings.EXPORT_KEEP_DAYS
            body = ngettext(
                "The copy of your data you asked for is ready to download for %(days)s day: %(url)s",
                "The copy of your data you asked for is ready to download for %(days)s days: %(url)s",
                days,
            ) % {"days": days, "url": link(reverse("exports:page"))}
            send_to_user(export.owner, gettext("Your data export is ready"), body)
    return DataExport.Status.READY


def requeue_unfinished(now=None) -> int:
    """Send again exports whose message was lost (broker down when requested, worker killed)."""
    cutoff = (now or timezone.now()) - timezone.timedelta(minutes=10)
    stuck = list(
        DataExport.objects.filter(status=DataExport.Status.QUEUED, requested_at__lt=cutoff).values_list("pk", flat=True)
    )
    for pk in stuck:
        send_after_commit(BUILD_EXPORT_TASK, export_id=pk)
    return len(stuck)


def delete_expired(now=None) -> int:
    """Exports past EXPORT_KEEP_DAYS are deleted with their zips (the post_delete signal removes the file)."""
    cutoff = (now or timezone.now()) - timezone.timedelta(days=settings.EXPORT_KEEP_DAYS)
    expired = DataExport.objects.filter(ready_at__lt=cutoff)
    count = 0
    for export in expired:
        export.delete()
        count += 1
    return count
