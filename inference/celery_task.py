"""The one task decorator of the house: late acks, redelivery on a lost worker, capped retries."""

from celery.signals import task_prerun
from django.db import InterfaceError, OperationalError, close_old_connections

from portal.celery import app

# Errors worth another try: the database or storage briefly unavailable.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def house_task(**options):
    defaults = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": TRANSIENT_ERRORS,
        "max_retries": 5,
        "retry_backoff": 1,
        "retry_backoff_max": 30,
        "retry_jitter": True,
    }
    return app.task(**{**defaults, **options})


@task_prerun.connect
def refresh_database_connection(task=None, **kwargs) -> None:
    """Before each task, what Django does before each request: drop a connection past CONN_MAX_AGE or
    one that failed, and health-check the one kept. Celery's own fixup reuses it (CELERY_DB_REUSE_MAX)."""
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()
