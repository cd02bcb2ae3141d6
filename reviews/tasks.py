"""Celery tasks of the review loop: thin wrappers around reviews.services."""

from inference.celery_task import house_task
from reviews import services


@house_task()
def release_abandoned_claims() -> int:
    return services.release_abandoned_claims()
