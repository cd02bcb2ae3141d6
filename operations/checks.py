"""What the health page asks: does each part the portal needs answer, right now?

Each check returns a small dict with `ok`; a failure names the kind of error, never its message, which
can carry a connection URL with credentials.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection
from django.utils import timezone

from portal.celery import app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
        result = {"ok": True, **result}
    except Exception as error:  # noqa: BLE001 - any failure of a part means that part is down
        result = {"ok": False, "error": type(error).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def broker() -> None:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        channel = conn.default_channel
        if hasattr(channel, "client"):  # Redis: a round trip, not only an open socket
            channel.client.ping()
        for option in ("data_folder_in", "data_folder_out"):  # the filesystem broker: its folders
            folder = conn.transport_options.get(option)
            if folder and not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError("broker folder missing or not writable")


def storage() -> None:
    if isinstance(default_storage, FileSystemStorage):
        location = default_storage.location
        os.makedirs(location, exist_ok=True)  # as the first upload would
        if not os.access(location, os.W_OK | os.X_OK):
            raise PermissionError("storage folder not writable")
    default_storage.exists("health-probe")  # on S3 a HEAD request: the bucket and credentials answer


def workers() -> dict:
    from operations.models import WorkerHeartbeat

    fresh_after = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(last_seen__gte=fresh_after).count()
    if not alive:
        raise LookupError("no worker heartbeat")
    return {"alive": alive}


CHECKS = {"database": database, "broker": broker, "storage": storage, "workers": workers}


def run_all() -> dict[str, dict]:
    return {name: _timed(check) for name, check in CHECKS.items()}
