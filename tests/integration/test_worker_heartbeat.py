"""A real worker reports liveness by itself, and the health page reads it."""

import time

import pytest
from django.urls import reverse

from operations.models import WorkerHeartbeat

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_running_worker_stamps_its_heartbeat_and_the_health_page_counts_it(
    celery_worker_process, transactional_db, client, settings
):
    deadline = time.monotonic() + settings.WORKER_HEARTBEAT_SECONDS + 10
    while not WorkerHeartbeat.objects.exists():  # the tables were emptied before this test; it stamps again
        assert time.monotonic() < deadline, celery_worker_process.log_tail()
        time.sleep(0.2)
    beat = WorkerHeartbeat.objects.get()
    assert beat.hostname.startswith("tests@")

    response = client.get(reverse("health"))
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["workers"]["alive"] == 1
