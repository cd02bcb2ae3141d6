"""GET /health/: 200 when the database, broker, storage and a worker answer; 503 naming what does not."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from operations import heartbeat
from operations.models import WorkerHeartbeat
from portal.celery import app
from tests.reliability.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_worker():
    """A heartbeat stamped by the real heartbeat code, as a worker's thread stamps it."""
    heartbeat.beat("tests@health")


@pytest.fixture
def unreachable_broker(monkeypatch):
    """The app's real broker configuration pointed at nothing: a closed port, or missing folders."""
    saved = {key: app.conf[key] for key in ("broker_url", "broker_transport_options")}
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # Celery reads it first
    else:
        missing = str(settings.VAR_DIR / "no-such-broker-folder")
        app.conf.broker_transport_options = {**saved["broker_transport_options"], "data_folder_in": missing,
                                             "data_folder_out": missing}  # fmt: skip
    yield
    app.conf.update(saved)


def get_health(client):
    response = client.get(reverse("health"))
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_it_answers_ok_without_a_login_when_every_part_answers(client, live_worker):
    status, body = get_health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "storage", "workers"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["workers"]["alive"] == 1


def test_it_names_the_broker_when_the_broker_does_not_answer(client, live_worker, unreachable_broker):
    status, body = get_health(client)
    assert status == 503
    assert body["status"] == "unavailable"
    assert not body["checks"]["broker"]["ok"]
    assert body["checks"]["database"]["ok"] and body["checks"]["workers"]["ok"]


def test_it_names_storage_when_the_media_folder_cannot_be_written(client, live_worker, settings, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocked / "media"}}}  # fmt: skip
    status, body = get_health(client)
    assert status == 503
    assert not body["checks"]["storage"]["ok"]
    assert body["checks"]["broker"]["ok"]


def test_it_names_the_workers_when_no_heartbeat_is_fresh(client, settings):
    WorkerHeartbeat.objects.create(
        hostname="gone@host",
        pid=1,
        last_seen=timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS + 5),
    )
    status, body = get_health(client)
    assert status == 503
    assert body["checks"]["workers"] == {"ok": False, "error": "LookupError", "ms": body["checks"]["workers"]["ms"]}


def test_it_gives_away_no_secret_even_when_a_part_fails(client, unreachable_broker):
    _, body = get_health(client)
    text = str(body)
    for secret in (settings.SECRET_KEY, settings.CELERY_BROKER_URL, str(settings.VAR_DIR), "redis://", "postgres"):
        assert secret not in text


def test_a_worker_shutting_down_removes_its_heartbeat_at_once(live_worker):
    heartbeat.stop(sender="tests@health")
    assert not WorkerHeartbeat.objects.exists()


def test_only_get_is_answered(client):
    assert client.post(reverse("health")).status_code == 405
