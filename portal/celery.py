"""The Celery app, configured from Django settings (CELERY_* names), and the one task decorator of the
house: late acks, redelivery on a lost worker, capped retries of transient errors."""

import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def transient_errors() -> tuple[type[Exception], ...]:
    """Errors worth another try: the database, storage or a mail server briefly unavailable."""
    from smtplib import SMTPException

    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError, ConnectionError, TimeoutError, SMTPException)


def house_task(**options):
    defaults = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": transient_errors(),
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
        from django.db import close_old_connections

        close_old_connections()
