"""The database goes away from the worker in the middle of a reading: the task retries (the database's
OperationalError and InterfaceError are in the house task's retry list) and the scan still finishes,
with one reading.

On PostgreSQL the worker's connections are terminated and new ones refused for a few seconds; on
SQLite another process holds the write lock longer than the worker's busy timeout.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest
from django.db import connection

from scans.models import Scan
from tests.reliability.conftest import publishing_to, upload, wait_for, wait_until_processing

pytestmark = [pytest.mark.integration, pytest.mark.slow]
OUTAGE_SECONDS = 3
RETRIED = "Retry in"  # what Celery logs when a task is retried


@contextlib.contextmanager
def database_unavailable():
    """Until the block ends: no new connection to the test database, and the open ones dropped."""
    if connection.vendor == "sqlite":
        with sqlite_write_lock():
            yield
        return
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own_pid,) = cursor.fetchone()  # the test's own connection, which keeps watching the scan
    with maintenance_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s", [name, own_pid]
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def maintenance_connection():
    """A connection to the server's postgres database: a database cannot refuse connections to itself."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params["dbname"] = "postgres"
    return psycopg.connect(**params, autocommit=True)


@contextlib.contextmanager
def sqlite_write_lock():
    """SQLite has no server to stop: hold its write lock, as a long migration or backup would."""
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_the_worker_retries_through_a_database_outage_and_finishes(
    patient_client, private_broker, workers, large_xray, wait_for_scan, record_timing
):
    worker = workers.start(private_broker)
    with publishing_to(private_broker):
        scan = upload(patient_client, large_xray)
        wait_until_processing(scan)
        started = time.monotonic()
        with database_unavailable():
            time.sleep(OUTAGE_SECONDS)
            # Held until the worker has felt it: a retry is logged (on SQLite after its 20 s busy timeout).
            wait_for(lambda: RETRIED in worker.log_tail(), timeout=120, interval=0.2, what="the task to retry")
        outage = time.monotonic() - started
        scan = wait_for_scan(scan, timeout=240)

    record_timing("database unavailable to the worker", outage)
    print(f"\ndatabase outage of {outage:.1f}s: scan {scan.status} after {scan.attempts} attempts")
    assert scan.status == Scan.Status.DONE, f"{scan.status} {scan.status_reason}\n{workers.logs()}"
    assert scan.predictions.count() == 1
    assert scan.attempts >= 2


@pytest.mark.postgresql  # SQLite has no server to drop the worker's connection
def test_a_connection_the_database_dropped_between_tasks_costs_the_next_scan_nothing(
    patient_client, private_broker, workers, xray_bytes, wait_for_scan
):
    """The worker keeps its connection from task to task (CELERY_DB_REUSE_MAX); the health check before
    each task finds one the server has since closed and opens another, instead of failing a try."""
    workers.start(private_broker)
    with publishing_to(private_broker):
        first = wait_for_scan(upload(patient_client, xray_bytes), timeout=120)
        with maintenance_connection() as admin:  # a database restart, as far as the idle worker can tell
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                [connection.settings_dict["NAME"], own_backend_pid()],
            )
        second = wait_for_scan(upload(patient_client, xray_bytes), timeout=120)

    assert first.status == second.status == Scan.Status.DONE
    assert second.attempts == 1, "the dropped connection cost the task a retry"


def own_backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]
