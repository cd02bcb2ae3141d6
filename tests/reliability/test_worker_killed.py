"""The process reading an X-ray is killed (SIGKILL, as by the OOM killer) in the middle of it: the task is
redelivered (acks_late + reject_on_worker_lost), the redelivered task takes its scan back by its task id,
and the scan finishes with exactly one reading. A scan that kills its reader every time is given up
after MAX_ATTEMPTS deliveries with a reason the patient can read, while other scans keep flowing.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from inference.services import FAILED_AFTER_ATTEMPTS, MAX_ATTEMPTS
from portal.settings import base as portal_settings
from scans.models import Scan
from tests.reliability.conftest import (
    kill_pool_child,
    publishing_to,
    upload,
    wait_until_processing,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KILLS = 10


def test_redis_keeps_an_unacknowledged_task_hidden_longer_than_a_task_may_run():
    """Otherwise Redis would hand a slow task to a second worker while the first still reads it."""
    assert portal_settings._REDIS_TRANSPORT_OPTIONS["visibility_timeout"] > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS == portal_settings._REDIS_TRANSPORT_OPTIONS


def test_a_worker_killed_mid_inference_ten_times_loses_and_duplicates_nothing(
    patient_client, private_broker, workers, large_xray, wait_for_scan, record_timing
):
    worker = workers.start(private_broker)
    finished = []
    with publishing_to(private_broker):
        for _ in range(KILLS):
            scan = upload(patient_client, large_xray)
            wait_until_processing(scan)
            kill_pool_child(worker)
            finished.append(wait_for_scan(scan, timeout=240))

    print(f"\n{KILLS} pool processes killed mid-inference; attempts per scan: {[s.attempts for s in finished]}")
    assert worker.process.poll() is None, "the worker itself must survive its pool processes"
    for scan in finished:
        assert scan.status == Scan.Status.DONE, f"scan {scan.pk}: {scan.status} {scan.status_reason}\n{workers.logs()}"
        assert scan.predictions.count() == 1
        assert scan.attempts >= 2, f"scan {scan.pk} was read once: the kill missed it"
    assert "WorkerLostError" in worker.log_tail() or "exited with 'signal 9" in worker.log_tail()


def test_a_scan_that_kills_its_reader_every_time_fails_after_three_deliveries_and_others_flow(
    patient_client, private_broker, workers, large_xray, xray_bytes, wait_for_scan
):
    worker = workers.start(private_broker)
    with publishing_to(private_broker):
        poison = upload(patient_client, large_xray, "poison.jpeg")
        others = [upload(patient_client, xray_bytes, f"other-{number}.jpeg") for number in range(3)]
        for attempt in range(1, MAX_ATTEMPTS + 1):
            wait_until_processing(poison, attempt=attempt)
            kill_pool_child(worker)
        poison = wait_for_scan(poison, timeout=240)
        others = [wait_for_scan(scan, timeout=240) for scan in others]

    print(f"\npoison scan: {poison.status} after {poison.attempts - 1} readings: {poison.status_reason}")
    assert poison.status == Scan.Status.FAILED, workers.logs()
    assert poison.status_reason == FAILED_AFTER_ATTEMPTS
    assert poison.attempts == MAX_ATTEMPTS + 1  # the last delivery only records the failure
    assert not poison.predictions.exists()
    for scan in others:
        assert scan.status == Scan.Status.DONE, f"{scan.original_filename}: {scan.status} {scan.status_reason}"
        assert scan.predictions.count() == 1
