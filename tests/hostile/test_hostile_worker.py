"""The hostile files the portal accepts, read by the real worker process: none crashes it, each scan
finishes with a reading or a reason, and each legitimate encoding of the X-ray gets the plain one's reading."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from scans.models import Scan
from tests.factories import UserFactory
from tests.hostile.corpus import ACCEPT, EITHER, build_corpus

pytestmark = [pytest.mark.integration, pytest.mark.slow]
# Signs in the worker's log that a pool process died under a task.
CRASH_SIGNS = ("WorkerLostError", "exited with 'signal", "exited with 'exitcode")
# Calibrated probabilities of two encodings of one X-ray may differ by what lossy encoding changes.
SAME_READING_TOLERANCE = 0.05


def upload_each(client, cases) -> dict[str, Scan]:
    """The scans of the cases the portal accepted (damaged files that still decode may be refused)."""
    scans = {}
    for case in cases:
        response = client.post(reverse("scans:upload"), {"files": [SimpleUploadedFile(case.filename, case.data)]})
        assert response.status_code == 302 or case.expect == EITHER, f"{case.label}: {response.status_code}"
        if response.status_code == 302:
            scans[case.label] = Scan.objects.latest("pk")
    return scans


def test_accepted_hostile_files_never_crash_the_worker_and_all_finish(
    transactional_db, celery_worker_process, wait_for_scan, hostile_tally, record_timing
):
    cases = [case for case in build_corpus() if case.expect in (ACCEPT, EITHER)]
    log_start = celery_worker_process.log_path.stat().st_size
    worker_pid = celery_worker_process.process.pid
    client = Client()
    client.force_login(UserFactory())

    started = time.monotonic()
    scans = upload_each(client, cases)
    finished = {label: wait_for_scan(scan, timeout=180) for label, scan in scans.items()}
    record_timing(f"{len(scans)} accepted hostile files: upload -> all finished", time.monotonic() - started)

    log = celery_worker_process.log_path.read_text(errors="replace")[log_start:]
    crashes = sum(log.count(sign) for sign in CRASH_SIGNS) + (celery_worker_process.process.poll() is not None)
    unfinished = {label: scan.status for label, scan in finished.items() if scan.status == Scan.Status.FAILED}
    hostile_tally["worker_runs"] += len(finished)
    hostile_tally["worker_crashes"] += crashes
    hostile_tally["worker_unfinished"] += len(unfinished)
    print(f"\n{len(finished)} accepted hostile files read by the worker: "
          f"{sum(s.status == Scan.Status.DONE for s in finished.values())} done, "
          f"{sum(s.status == Scan.Status.REJECTED for s in finished.values())} refused by the gate")  # fmt: skip

    assert crashes == 0, log[-5000:]
    assert celery_worker_process.process.pid == worker_pid
    assert unfinished == {}
    for scan in finished.values():
        assert scan.status in (Scan.Status.DONE, Scan.Status.REJECTED)
        assert scan.predictions.count() == (1 if scan.status == Scan.Status.DONE else 0)
        assert scan.status == Scan.Status.DONE or scan.status_reason
    assert_variants_read_as_the_plain_xray(cases, finished)


def assert_variants_read_as_the_plain_xray(cases, finished):
    plain = finished["plain-png"]
    assert plain.status == Scan.Status.DONE
    expected = plain.predictions.get()
    for case in cases:
        if not case.same_reading_as_plain:
            continue
        scan = finished[case.label]
        assert scan.status == Scan.Status.DONE, f"{case.label}: {scan.status_reason}"
        reading = scan.predictions.get()
        assert reading.label == expected.label, case.label
        assert abs(reading.probability - expected.probability) < SAME_READING_TOLERANCE, (
            case.label, reading.probability, expected.probability,
        )  # fmt: skip
