"""The Celery app, configured from Django settings (CELERY_* names), and the one task decorator of the
house: late acks, redelivery on a lost worker, capped retries of transient errors."""

import functools
import logging
import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
log = logging.getLogger(__name__)


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


def send_after_commit(task_name: str, **kwargs) -> None:
    """Queue the task, by its registered name, once the current transaction commits (at once outside one).

    By name, so the web and the apps only publish; the task modules are the worker's. The one failure
    policy: what committed stays committed. A broker that is down loses the message, never the row, and
    each task's sweeper (beat) sends again what a lost message left undone."""
    from django.db import transaction

    transaction.on_commit(functools.partial(send_now, task_name, kwargs=kwargs))


def send_now(task_name: str, *, kwargs: dict) -> None:
    try:
        app.send_task(task_name, kwargs=kwargs)
    except Exception as error:  # noqa: BLE001 - the failure policy above: log it, the sweeper resends
        described = ", ".join(f"{key}={value}" for key, value in kwargs.items())
        log.warning("broker unreachable (%s): %s(%s) not sent, left for its sweeper", error, task_name, described)
