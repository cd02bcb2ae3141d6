"""Ten patients upload 50 X-rays at once to two workers, while the sweeper sends every unfinished scan a
second time: all are read, none is lost, none is read twice into two readings, nothing deadlocks."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client
from django.utils import timezone

from inference.services import requeue_stuck_scans
from scans.models import Prediction, Scan
from tests.factories import UserFactory
from tests.reliability.conftest import publishing_to, upload, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PATIENTS = 10
UPLOADS_EACH = 5
# Late enough for the sweeper to take every queued scan as lost and every claim as abandoned.
SWEEPER_SEES_ALL_AS_STUCK = timedelta(
    seconds=max(settings.SCAN_REQUEUE_AFTER_SECONDS, settings.CELERY_TASK_TIME_LIMIT + 30) + 1
)


def upload_as(patient, data: bytes, start: threading.Barrier) -> list[int]:
    client = Client()
    client.force_login(patient)
    start.wait()
    try:
        return [upload(client, data, f"chest-{number}.jpeg").pk for number in range(UPLOADS_EACH)]
    finally:
        connections.close_all()  # this thread's own connection; PostgreSQL cannot drop a database in use


def test_fifty_concurrent_uploads_from_ten_patients_are_each_read_exactly_once(
    transactional_db, private_broker, workers, xray_bytes, record_timing
):
    workers.start(private_broker, concurrency=2, name="first")
    workers.start(private_broker, name="second")
    patients = [UserFactory() for _ in range(PATIENTS)]
    start = threading.Barrier(PATIENTS)
    started = time.monotonic()

    with publishing_to(private_broker), ThreadPoolExecutor(PATIENTS) as pool:
        uploads = [pool.submit(upload_as, patient, xray_bytes, start) for patient in patients]
        scan_ids = [pk for future in uploads for pk in future.result(timeout=600)]
        # Every scan still unfinished is sent again, as a sweeper that runs late would: duplicate messages.
        resent = requeue_stuck_scans(now=timezone.now() + SWEEPER_SEES_ALL_AS_STUCK)

        def all_finished():
            return not Scan.objects.filter(pk__in=scan_ids, status__in=Scan.UNFINISHED).exists()

        wait_for(all_finished, timeout=600, interval=0.5, what="all 50 scans to finish")
    record_timing(f"{len(scan_ids)} concurrent uploads -> all read", time.monotonic() - started)

    scans = Scan.objects.filter(pk__in=scan_ids)
    readings = Prediction.objects.filter(scan__in=scans)
    print(f"\n{len(scan_ids)} uploads from {PATIENTS} patients, {resent} sent twice by the sweeper: "
          f"{scans.filter(status=Scan.Status.DONE).count()} read, {readings.count()} readings")  # fmt: skip
    assert len(set(scan_ids)) == PATIENTS * UPLOADS_EACH
    assert {patient.scans.count() for patient in patients} == {UPLOADS_EACH}
    assert scans.filter(status=Scan.Status.DONE).count() == PATIENTS * UPLOADS_EACH, workers.logs()
    assert readings.count() == PATIENTS * UPLOADS_EACH
    assert resent > 0, "the sweeper ran after all were read: no duplicate message was tested"
    assert "deadlock" not in workers.logs().lower()
