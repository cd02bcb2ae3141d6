"""The listener as `make run` runs it: `manage.py dicom_listener` in its own process, on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import tiers
from tests.conftest import REPO_DIR, worker_environment

LISTENER_START_TIMEOUT_SECONDS = 60  # Django and pynetdicom import on two busy cores


@dataclass
class ListenerProcess:
    process: subprocess.Popen
    port: int
    log_path: Path

    def stop(self) -> int:
        """SIGTERM, as honcho and docker stop it; the exit status."""
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_listener(port: int, log_path: Path, environment: dict | None = None) -> ListenerProcess:
    """The started process, once it says it listens."""
    tiers.requires("processes", "manage.py dicom_listener")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "dicom_listener", "--port", str(port)], cwd=REPO_DIR,
            env={**worker_environment(), **(environment or {})}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    listener = ListenerProcess(process, port, log_path)
    try:
        wait_for_line(log_path, f"DICOM listener PNEUMONIA on 127.0.0.1:{port}", process)
    except BaseException:
        listener.stop()
        raise
    return listener


def wait_for_line(log_path: Path, line: str, process) -> None:
    deadline = time.monotonic() + LISTENER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if line in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"no {line!r} from the listener:\n{log_path.read_text(errors='replace')}")
