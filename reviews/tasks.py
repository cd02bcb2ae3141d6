"""Celery tasks of the review loop: thin wrappers around reviews.services and notifications."""

from portal.celery import house_task
from reviews import notifications, services


@house_task()
def release_abandoned_claims() -> int:
    return services.release_abandoned_claims()


@house_task()
def email_review_done(*, review_id: int) -> None:
    notifications.send_review_done_email(review_id)
