"""The one task decorator of the house: late acks, redelivery on a lost worker, capped retries."""

from django.db import InterfaceError, OperationalError

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
