"""The patient's email that a radiologist has reviewed their X-ray: queued on commit, sent by a task."""

from __future__ import annotations

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from accounts.emails import link, send_to_user
from accounts.language import in_language_of
from portal.celery import send_after_commit
from reviews.models import Review

# Queued by name (reviews/tasks.py registers it), so this module and the task module do not import each other.
EMAIL_REVIEW_DONE_TASK = "reviews.tasks.email_review_done"


def notify_review_done(review: Review) -> bool:
    """Queue the email once the review commits; True when one was queued (the patient wants email)."""
    if review.scan.owner_id is None or not review.scan.owner.notify_by_email:  # a site's study: no account
        return False
    send_after_commit(EMAIL_REVIEW_DONE_TASK, review_id=review.pk)  # a broker down loses the email, not the review
    return True


def send_review_done_email(review_id: int) -> None:
    review = Review.objects.select_related("scan__owner").get(pk=review_id)
    scan = review.scan
    with in_language_of(scan.owner):
        body = gettext(
            "A radiologist has reviewed the X-ray you uploaded on %(date)s. Log in to read their finding and note: %(url)s"
        ) % {
            "date": date_format(timezone.localtime(scan.created_at), "DATE_FORMAT"),
            "url": link(scan.get_absolute_url()),
        }
        send_to_user(scan.owner, gettext("A radiologist has reviewed your X-ray"), body)
