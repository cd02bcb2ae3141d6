"""Emails to patients: their result is ready, a radiologist has reviewed their X-ray.

Sent only once the transaction that made the news commits, only to patients who want email, and
never with the result itself in the message: email is not a private channel; the portal is.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from scans.models import Scan

log = logging.getLogger(__name__)

SIGN_OFF = (
    "\n\nYou receive this email because you asked to be told by email. You can turn it off in your preferences: {url}\n"
)


def notify_result_ready(scan: Scan) -> bool:
    """Tell the patient the computer reading is in. Called by the worker once it has written the result.

    At most one email per scan, however often a redelivered task calls this. Sites that hold results
    until review send nothing here: the review email is the patient's first news.
    """
    if settings.HOLD_AI_RESULTS_UNTIL_REVIEW:
        return False
    first_time = Scan.objects.filter(pk=scan.pk, result_notified_at__isnull=True).update(
        result_notified_at=timezone.now()
    )
    owner = scan.owner
    if not first_time or not owner.notify_by_email:
        return False
    if scan.status == Scan.Status.DONE:
        subject = "The reading of your X-ray is ready"
        news = "The computer reading of the X-ray you uploaded on {date} is ready."
    else:
        subject = "We could not read your X-ray"
        news = "We could not read the X-ray you uploaded on {date}; the page says why and what you can do."
    body = f"{news.format(date=f'{scan.created_at:%d %B %Y}')} Log in to see it: {_link(scan.get_absolute_url())}"
    _send_after_commit(owner.email, subject, body)
    return True


def notify_review_done(review) -> bool:
    """Tell the patient a radiologist has reviewed their X-ray."""
    owner = review.scan.owner
    if not owner.notify_by_email:
        return False
    subject = "A radiologist has reviewed your X-ray"
    body = (
        f"A radiologist has reviewed the X-ray you uploaded on {review.scan.created_at:%d %B %Y}. "
        f"Log in to read their finding and note: {_link(review.scan.get_absolute_url())}"
    )
    _send_after_commit(owner.email, subject, body)
    return True


def _link(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def _send_after_commit(to: str, subject: str, body: str) -> None:
    message = body + SIGN_OFF.format(url=_link(reverse("accounts:preferences")))
    subject = f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}"
    # robust: a mail server that is down must not turn a saved review into an error page.
    transaction.on_commit(
        lambda: send_mail(subject, message, settings.DEFAULT_FROM_EMAIL, [to]),
        robust=True,
    )
