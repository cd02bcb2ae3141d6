"""Real services to break: a private redis-server to stop and start, Celery workers pointed at it or at
the suite's broker, their pool processes to kill, and the test process's task publishing redirected.

Nothing here replaces a service with a fake: the faults are the real ones (a stopped server, a killed
process, a dropped database connection).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from portal.settings import base as portal_settings
from scans.models import Scan
from tests.conftest import WorkerProcess, start_celery_worker, worker_environment
from tests.factories import UserFactory

REDIS_READY_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RedisServer:
    """A redis-server of our own, without persistence: a restart comes back empty, as after a crash."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                   "no", "--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + REDIS_READY_TIMEOUT_SECONDS
        while not self.answers():
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"redis-server on port {self.port} did not start: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()
            self.process.kill()  # as a crash: no goodbye to the clients
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its port open and answers nothing, like a hung or swapped-out host."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        return False

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@dataclass
class Broker:
    """A broker of this test's own, of the kind the suite runs on, so no other worker takes its messages."""

    url: str
    transport_options: dict
    worker_environment: dict  # what a worker needs to consume from it
    redis: RedisServer | None = None
    transport: str | None = None  # a transport class that overrides the URL's scheme


@pytest.fixture
def private_broker(tmp_path):
    """Filesystem folders of its own on the embedded set-up; a redis-server of its own where Redis runs."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        var = tmp_path / "var"
        for folder in ("broker", "broker-processed", "broker-control"):
            (var / folder).mkdir(parents=True)
        options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "data_folder_in": str(var / "broker"),
                   "data_folder_out": str(var / "broker"), "processed_folder": str(var / "broker-processed"),
                   "control_folder": str(var / "broker-control")}  # fmt: skip
        yield Broker("filesystem://", options, {"PORTAL_VAR_DIR": str(var)}, transport=settings.CELERY_BROKER_TRANSPORT)
        return
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield Broker(server.url, portal_settings._REDIS_TRANSPORT_OPTIONS, {"CELERY_BROKER_URL": server.url}, server)
    server.stop()


@pytest.fixture
def redis_broker(redis_server):
    """A private redis-server as the broker, whatever the suite runs on: for faults only Redis has."""
    return Broker(redis_server.url, portal_settings._REDIS_TRANSPORT_OPTIONS, {"CELERY_BROKER_URL": redis_server.url},
                  redis_server)  # fmt: skip


@contextlib.contextmanager
def publishing_to(broker: Broker):
    """Send this process's tasks (the web side of the test) to the test's broker."""
    from portal.celery import app

    # The write URL, because Celery prefers a CELERY_BROKER_URL environment variable (as CI sets) to broker_url.
    conf = app.conf
    saved = {"broker_write_url": conf.broker_write_url, "broker_transport_options": conf.broker_transport_options,
             "broker_transport": conf.broker_transport}  # fmt: skip
    conf.update(broker_write_url=broker.url, broker_transport_options=broker.transport_options,
                broker_transport=broker.transport)  # fmt: skip
    _drop_connections(app)
    try:
        yield
    finally:
        conf.update(saved)
        _drop_connections(app)


def _drop_connections(app) -> None:
    """Close every pooled broker connection; the next send opens one to whatever app.conf names now."""
    kombu.pools.reset()  # closes them and empties kombu's registry, so no closed pool is handed out again
    app._pool = None
    app.amqp._producer_pool = None


@dataclass
class Workers:
    """Starts workers for one test and stops them all at its end."""

    folder: Path
    started: list[WorkerProcess]

    def start(self, broker: Broker, *, concurrency: int = 1, name: str = "reliability") -> WorkerProcess:
        environment = {**worker_environment(), **broker.worker_environment}
        log_path = self.folder / f"{name}-{len(self.started)}.log"
        worker = start_celery_worker(log_path, environment, name=f"{name}{len(self.started)}", concurrency=concurrency)
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {worker.log_path.name}\n{worker.log_tail()[-6000:]}" for worker in self.started)


STARTED_WORKERS = pytest.StashKey[Workers]()


@pytest.fixture
def workers(django_db_setup, tmp_path, request):
    started = Workers(tmp_path, [])
    request.node.stash[STARTED_WORKERS] = started
    yield started
    for worker in started.started:
        worker.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the end of each of its workers' logs."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and STARTED_WORKERS in item.stash:
        report.sections.append(("reliability workers' logs (tail)", item.stash[STARTED_WORKERS].logs()))


def pool_children(worker: WorkerProcess) -> list[int]:
    """The pids of the worker's pool processes: the ones that run the tasks."""
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            if int(fields.get("PPid", "0")) == worker.process.pid:
                children.append(int(status.parent.name))
    return children


def kill_pool_child(worker: WorkerProcess) -> None:
    """SIGKILL the pool process, as the OOM killer or a crash in native code would; wait for its successor."""
    (child,) = pool_children(worker)
    os.kill(child, signal.SIGKILL)

    def replaced():
        children = pool_children(worker)
        return children and child not in children

    wait_for(replaced, timeout=60, what="the worker to replace its killed pool process")


def wait_for(condition, *, timeout: float, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


# --- Patients and their uploads --------------------------------------------------------------------


@pytest.fixture
def patient_client(transactional_db):
    """A logged-in patient; transactional, so uploads commit and their on_commit sends really happen."""
    client = Client()
    client.force_login(UserFactory())
    return client


def upload(client, data: bytes, name: str = "chest.jpeg") -> Scan:
    response = client.post(reverse("scans:upload"), {"files": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Scan.objects.filter(owner=response.wsgi_request.user).latest("pk")


@pytest.fixture(scope="session")
def large_xray(xray_path) -> bytes:
    """The X-ray at 4000 x 4000 pixels, as a modern detector exports it: reading it takes long enough
    (decoding, the full-size heatmap) for a test to strike while the worker is in the middle of it."""
    image = Image.open(xray_path).convert("L").resize((4000, 4000), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def wait_until_processing(scan: Scan, *, attempt: int = 1, timeout: float = 240) -> Scan:
    """Until a worker holds the scan for its `attempt`-th time and has not finished it."""

    def held():
        scan.refresh_from_db()
        assert scan.status not in (Scan.Status.DONE, Scan.Status.FAILED, Scan.Status.REJECTED), (
            f"scan {scan.pk} finished ({scan.status}) before the test could strike"
        )
        return scan.status == Scan.Status.PROCESSING and scan.attempts >= attempt

    wait_for(held, timeout=timeout, what=f"scan {scan.pk} to be processing (attempt {attempt})")
    return scan
