"""Redis stops while patients upload: every upload is still answered within seconds and saved, and once
Redis is back (empty, as after a crash) the sweeper gets every scan read. Nothing is lost.

Runs on a private redis-server whatever the suite's broker is, since stopping it is the fault.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from inference.services import requeue_stuck_scans
from scans.models import Scan
from tests.reliability.conftest import publishing_to, upload

pytestmark = [pytest.mark.integration, pytest.mark.slow]
UPLOADS_DURING_OUTAGE = 5
# The promise to patients; the broker settings give up after about 2 s.
ANSWER_WITHIN_SECONDS = 5


def after_the_requeue_delay():
    """The sweeper's view of the clock once the uploads have waited long enough to be sent again."""
    return timezone.now() + timedelta(seconds=settings.SCAN_REQUEUE_AFTER_SECONDS + 1)


def timed_upload(client, data) -> tuple[Scan, float]:
    started = time.monotonic()
    scan = upload(client, data)
    return scan, time.monotonic() - started


@pytest.mark.parametrize("fault", ["stopped", "hung"])
def test_an_upload_with_the_broker_down_is_answered_and_kept_for_the_sweeper(
    patient_client, redis_broker, xray_bytes, record_timing, fault, caplog
):
    if fault == "stopped":
        redis_broker.redis.stop()
    else:
        redis_broker.redis.freeze()

    with publishing_to(redis_broker):
        scan, seconds = timed_upload(patient_client, xray_bytes)
        requeued_while_down = requeue_stuck_scans(now=after_the_requeue_delay())
    record_timing(f"upload answered with Redis {fault}", seconds)

    assert seconds < ANSWER_WITHIN_SECONDS
    assert f"run_inference(scan_id={scan.pk}) not sent" in caplog.text  # the send did fail: the test broke the right broker
    assert scan.status == Scan.Status.QUEUED
    assert scan.image.storage.exists(scan.image.name)
    # The sweeper finds it, and a broker still down does not stop the sweeper either.
    assert requeued_while_down == 1
    scan.refresh_from_db()
    assert scan.status == Scan.Status.QUEUED


def test_uploads_during_a_redis_outage_are_all_read_once_it_is_back(
    patient_client, redis_broker, workers, xray_bytes, wait_for_scan, record_timing, caplog
):
    workers.start(redis_broker)
    with publishing_to(redis_broker):
        before = upload(patient_client, xray_bytes)
        assert wait_for_scan(before, timeout=240).status == Scan.Status.DONE, workers.logs()

        redis_broker.redis.stop()
        during, answer_times = [], []
        for _ in range(UPLOADS_DURING_OUTAGE):
            scan, seconds = timed_upload(patient_client, xray_bytes)
            during.append(scan)
            answer_times.append(seconds)
        assert all(scan.status == Scan.Status.QUEUED for scan in during)
        assert caplog.text.count("run_inference(scan_id=") == UPLOADS_DURING_OUTAGE

        redis_broker.redis.start()  # empty: whatever was not sent is not there
        requeued = requeue_stuck_scans(now=after_the_requeue_delay())

    finished = [wait_for_scan(scan, timeout=240) for scan in during]
    lost = [scan.pk for scan in finished if scan.status != Scan.Status.DONE or scan.predictions.count() != 1]
    record_timing("slowest upload answer during the Redis outage", max(answer_times))
    print(
        f"\nRedis outage: {len(during)} uploads during the outage, answered in at most {max(answer_times):.2f}s; "
        f"{requeued} requeued by the sweeper once Redis was back; lost: {len(lost)}"
    )

    assert max(answer_times) < ANSWER_WITHIN_SECONDS
    assert requeued == UPLOADS_DURING_OUTAGE
    assert lost == [], workers.logs()
