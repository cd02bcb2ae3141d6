"""Fixtures shared by the whole suite, and the CI rule that no test may skip.

The integration and browser tests run a real Celery worker process (`celery_worker_process`) against
the test database and the broker of the test process, so what they check is what production runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image, ImageDraw

from ml.constants import DEFAULT_DATA_DIR
from tests import tiers

REPO_DIR = Path(__file__).resolve().parent.parent
WORKER_READY_TIMEOUT_SECONDS = 120  # two busy cores: importing Django, Celery and LiteRT takes a while
WORKER_LOG_TAIL_CHARS = 20_000


def pytest_addoption(parser):
    parser.addoption(
        "--fast", action="store_true",
        help="the everyday tier (make test-fast): leave out the tests marked " + ", ".join(tiers.LEFT_OUT_OF_FAST_TIER),
    )  # fmt: skip


def pytest_configure(config):
    if getattr(config.option, "numprocesses", None) and not config.pluginmanager.has_plugin("tests.xdist_var_dir"):
        raise pytest.UsageError("-n without -p tests.xdist_var_dir: the xdist workers would share one database")
    # kombu's filesystem transport does not create its folders, and SQLite needs the folder of its file.
    var = settings.VAR_DIR
    for folder in (var / "broker", var / "broker-processed", settings.MEDIA_ROOT, settings.STATIC_ROOT):
        Path(folder).mkdir(parents=True, exist_ok=True)
    _remove_stale_sqlite_journal()
    if config.getoption("fast"):
        settings.PASSWORD_HASHERS = ["tests.tiers.FastTierPasswordHasher", *settings.PASSWORD_HASHERS]


def database_is_sqlite() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def _remove_stale_sqlite_journal():
    """Django deletes an old SQLite test database file but not its WAL; replayed into the new file it corrupts it."""
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_name and (worker := os.environ.get("PYTEST_XDIST_WORKER")):
        test_name = f"{test_name}_{worker}"  # pytest-django's name for an xdist worker's database
    if database_is_sqlite() and test_name:
        for suffix in ("-wal", "-shm"):
            Path(f"{test_name}{suffix}").unlink(missing_ok=True)


# --- In CI, a skip is a failure ------------------------------------------------------------------
# A skipped browser or integration test looks green while checking nothing; CI sets CI=true.


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _fail_skip(report, what: str) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"{what} skipped, and no test may skip in CI (CI=true): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci() and not hasattr(report, "wasxfail"):
        _fail_skip(report, item.nodeid)
    if report.failed and "celery_worker_process" in item.fixturenames and _running_worker is not None:
        report.sections.append(("celery worker log (tail)", _running_worker.log_tail()))


def pytest_collection_modifyitems(config, items):
    """Each test gets the markers of the heavy fixtures it uses (tests/tiers.py); --fast then leaves out
    the heavy ones. Tests of what only a database server does are left out on SQLite: there is nothing
    there for them to test, and in CI (PostgreSQL) they run. What is left out is counted as deselected."""
    tiers.add_fixture_markers(items)
    left_out = []
    if config.getoption("fast"):
        items[:], heavy = tiers.split_fast_tier(items)
        left_out += heavy
    if database_is_sqlite():
        left_out += [item for item in items if item.get_closest_marker("postgresql")]
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Known to tiers.requires(), which fails a test that starts something heavy without its marker."""
    tiers.set_running(item)
    try:
        return (yield)
    finally:
        tiers.set_running(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _in_ci():
        _fail_skip(report, f"collecting {collector.nodeid}")


# --- Timings worth reading in every run, never asserted -------------------------------------------

_timings: list[tuple[str, float]] = []


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """LocaleMiddleware leaves the language of a test's last request active in the thread: the next test
    starts in the default again, whatever the last one asked for."""
    yield
    translation.deactivate()


@pytest.fixture
def record_timing(request):
    """record_timing("upload -> done", seconds): listed in the summary at the end of the run."""

    def record(what: str, seconds: float) -> None:
        print(f"\n{what}: {seconds:.2f}s")
        _timings.append((f"{request.node.nodeid}: {what}", seconds))

    return record


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.section("timings")
        for what, seconds in _timings:
            terminalreporter.write_line(f"{seconds:6.2f}s  {what}")


# --- Images ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def xray_path() -> Path:
    """A real chest X-ray (JPEG) from the shared training set beside the repository."""
    candidates = sorted(DEFAULT_DATA_DIR.glob("PNEUMONIA/*.jpeg"))
    if not candidates:
        pytest.skip(f"no chest X-rays found in {DEFAULT_DATA_DIR}")
    return candidates[0]


@pytest.fixture(scope="session")
def xray_bytes(xray_path) -> bytes:
    return xray_path.read_bytes()


@pytest.fixture(scope="session")
def document_bytes() -> bytes:
    """A PNG of a typed page: an image the upload form accepts but the model must refuse."""
    page = Image.new("L", (900, 1200), color=255)
    draw = ImageDraw.Draw(page)
    for line in range(40):
        draw.text((60, 60 + line * 27), f"Line {line + 1}: this is a letter, not a chest X-ray. " * 2, fill=0)
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def colour_photo_bytes() -> bytes:
    """A colourful JPEG, like a holiday photo uploaded by mistake."""
    picture = Image.new("RGB", (640, 480))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, 640, 240), fill=(70, 140, 230))  # sky
    draw.rectangle((0, 240, 640, 480), fill=(60, 170, 70))  # grass
    draw.ellipse((460, 40, 580, 160), fill=(250, 210, 40))  # sun
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# --- A real Celery worker process ------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path
    environment: dict

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-WORKER_LOG_TAIL_CHARS:]

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if " ready." in self.log_tail():
                return
            time.sleep(0.2)
        pytest.fail(f"the Celery worker was not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Warm shutdown of the worker and its pool children (one process group); killed if it hangs."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Pool children outlive a parent killed hard; nothing of the group may be left behind.
        _signal_group(self.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, signum)


_running_worker: WorkerProcess | None = None


def database_url_for(settings_dict: dict, vendor: str) -> str:
    """A DATABASE_URL that opens the database described by a connection's settings (the test one, once set up)."""
    if vendor == "sqlite":
        return f"sqlite:///{Path(settings_dict['NAME']).resolve()}"
    if vendor == "postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = settings_dict.get("PASSWORD") or ""
        credentials = f"{user}:{quote(password, safe='')}@" if password else f"{user}@" if user else ""
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{credentials}{settings_dict.get('HOST') or ''}{port}/{settings_dict['NAME']}"
    raise NotImplementedError(f"no DATABASE_URL for a {vendor} database")


def worker_environment() -> dict:
    """The test process's configuration, so the worker writes where the tests read."""
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url_for(connection.settings_dict, connection.vendor),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def start_celery_worker(
    log_path: Path, environment: dict, *, name: str = "tests", concurrency: int = 1
) -> WorkerProcess:
    """A `celery -A celery_worker worker` process in its own process group, once it is ready for tasks."""
    tiers.requires("integration", "a Celery worker process")
    command = [
        sys.executable, "-m", "celery", "-A", "celery_worker", "worker",
        "--loglevel", "INFO", "--concurrency", str(concurrency), "-Q", "scans", "--hostname", f"{name}@%h",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(process, log_path, environment)
    try:
        worker.wait_until_ready(WORKER_READY_TIMEOUT_SECONDS)  # its failure message carries the log
    except BaseException:
        worker.stop()
        raise
    print(f"\nCelery worker ready: {shlex.join(command)} (log: {log_path})")
    return worker


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    """A real `celery -A celery_worker worker` on the test database; tests using it need transactional_db.

    Session-wide because starting it (imports, model load) takes seconds; transactional_db empties the
    tables between tests, and the queue is purged before it starts so no stale message reaches it.
    """
    global _running_worker
    from portal.celery import app

    app.control.purge()
    worker = start_celery_worker(tmp_path_factory.mktemp("celery") / "worker.log", worker_environment())
    _running_worker = worker
    try:
        yield worker
    finally:
        worker.stop()
        _running_worker = None


@contextlib.contextmanager
def session_worker_paused():
    """While it lasts, the session's worker (if one runs) takes nothing from the scans queue: Celery's
    own remote control (cancel_consumer, then add_consumer), for tests that read the queue themselves."""
    from portal.celery import app

    if _running_worker is None or _running_worker.process.poll() is not None:
        yield
        return
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    answers = app.control.cancel_consumer(queue, reply=True, timeout=10)
    if not answers:
        pytest.fail(f"the session's Celery worker did not stop consuming {queue}:\n{_running_worker.log_tail()}")
    try:
        yield
    finally:
        app.control.add_consumer(queue, reply=True, timeout=10)


@pytest.fixture
def wait_for_scan():
    """Poll a scan until the worker has finished with it, and return it."""

    def wait(scan, timeout: float = 60.0):
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            scan.refresh_from_db()
            if scan.is_finished:
                return scan
            time.sleep(0.2)
        pytest.fail(f"scan {scan.pk} still {scan.status} after {timeout:.0f}s")

    return wait


@pytest.fixture
def admin_user(db, django_user_model, django_username_field):
    """pytest-django's admin user (behind `admin_client`), with the second factor staff must have."""
    from tests.factories import with_second_factor

    user = django_user_model._default_manager.create_superuser(
        **{django_username_field: "admin@example.com"}, password="password"
    )
    return with_second_factor(user)
