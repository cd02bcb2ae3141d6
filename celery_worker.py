"""Entry point for worker and beat processes: `celery -A celery_worker worker` / `celery -A celery_worker beat`.

Importing Django's settings here (through portal.celery) and calling django.setup() lets tasks use the
ORM; the model itself is loaded later, once per worker child (inference.worker_model).
"""

import django

from portal.celery import app

django.setup()

__all__ = ("app",)
