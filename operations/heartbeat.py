"""Workers report liveness: a thread in each worker's main process stamps its WorkerHeartbeat row.

The row lives in the database, which every set-up has (SQLite or PostgreSQL, filesystem broker or
Redis), so the health page reads the same thing wherever it runs.
"""

from __future__ import annotations

import logging
import os
import threading

from celery.signals import worker_ready, worker_shutting_down
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

log = logging.getLogger(__name__)
_stop = threading.Event()


def beat(hostname: str) -> None:
    """Stamp this worker's row now."""
    from operations.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"pid": os.getpid(), "last_seen": timezone.now()}
    )


def _beat_until_stopped(hostname: str) -> None:
    while not _stop.is_set():
        try:
            beat(hostname)
        except DatabaseError as error:  # the health page will show the worker stale; keep trying
            log.warning("worker heartbeat not written: %s", error)
        finally:
            connection.close()  # this thread's own connection; never held between beats
        _stop.wait(settings.WORKER_HEARTBEAT_SECONDS)


def start(sender=None, **kwargs) -> None:
    _stop.clear()
    threading.Thread(target=_beat_until_stopped, args=(sender.hostname,), name="heartbeat", daemon=True).start()


def stop(sender=None, **kwargs) -> None:
    """A worker shutting down says so at once, instead of going stale a minute later."""
    from operations.models import WorkerHeartbeat

    _stop.set()
    try:
        WorkerHeartbeat.objects.filter(hostname=sender).delete()
    except DatabaseError as error:
        log.warning("worker heartbeat not removed: %s", error)


def connect_worker_signals() -> None:
    worker_ready.connect(start, weak=False, dispatch_uid="operations.heartbeat.start")
    worker_shutting_down.connect(stop, weak=False, dispatch_uid="operations.heartbeat.stop")
