"""The patient's email that the computer reading is in: decided by the worker, sent by a task."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from accounts.emails import link, send_to_user
from accounts.language import in_language_of
from portal.celery import send_after_commit
from scans.models import Scan

# Queued by name (scans/tasks.py registers it), so this module and the task module do not import each other.
EMAIL_RESULT_READY_TASK = "scans.tasks.email_result_ready"


def notify_result_ready(scan: Scan) -> bool:
    """Queue the email once the worker's result commits; True when one was queued.

    At most one per scan, however often a redelivered task calls this; none to patients who turned
    email off. Sites that hold results until review send nothing here: the review email is the news.
    """
    if settings.HOLD_AI_RESULTS_UNTIL_REVIEW or scan.owner_id is None:  # a site's study: its PACS is told
        return False
    first_time = Scan.objects.filter(pk=scan.pk, result_notified_at__isnull=True).update(
        result_notified_at=timezone.now()
    )
    if not first_time or not scan.owner.notify_by_email:
        return False
    send_after_commit(EMAIL_RESULT_READY_TASK, scan_id=scan.pk)  # a broker down loses the email, not the result
    return True


def send_result_ready_email(scan_id: int) -> None:
    scan = Scan.objects.select_related("owner").get(pk=scan_id)
    with in_language_of(scan.owner):
        words = {"date": date_format(timezone.localtime(scan.created_at), "DATE_FORMAT")}
        if scan.status == Scan.Status.DONE:
            subject = gettext("The reading of your X-ray is ready")
            news = gettext("The computer reading of the X-ray you uploaded on %(date)s is ready.") % words
        else:
            subject = gettext("We could not read your X-ray")
            news = (
                gettext("We could not read the X-ray you uploaded on %(date)s; the page says why and what you can do.")
                % words
            )
        body = gettext("%(news)s Log in to see it: %(url)s") % {"news": news, "url": link(scan.get_absolute_url())}
        send_to_user(scan.owner, subject, body)
