"""The processes a benchmark runs against: gunicorn and Celery workers on free loopback ports, cleaned up after.

They share the bench process's settings (PORTAL_VAR_DIR, DATABASE_URL, CELERY_BROKER_URL), so rows and
messages the bench creates in-process are the ones the server and the worker see.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 120  # two busy cores: importing Django, Celery and LiteRT takes a while


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A child in its own process group, logging to a file; stop() ends the whole group."""

    def __init__(self, command: list[str], log_path: Path):
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_for(self, ready, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{what} was not ready after {READY_TIMEOUT_SECONDS}s:\n{self.log_tail()}")

    def stop(self, grace: float = 20.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class WebServer(Process):
    """gunicorn, as production runs the portal (Dockerfile: three sync workers)."""

    def __init__(self, log_path: Path, workers: int = 3):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        command = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
        ]  # fmt: skip
        super().__init__(command, log_path)
        self.wait_for(self._answers, "gunicorn")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True
        return False


class Worker(Process):
    """`celery -A celery_worker worker` on the scans queue, as Procfile.dev starts it."""

    def __init__(self, log_path: Path, concurrency: int = 1):
        command = [
            sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "-Q", "scans", "--hostname", f"bench{os.getpid()}@%h",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        super().__init__(command, log_path)
        self.wait_for(lambda: " ready." in self.log_tail(), "the Celery worker")

    def children(self) -> list[int]:
        """The prefork pool's processes, the ones that run the model."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def loads_tensorflow(pid: int) -> bool:
    return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()
