"""Each pytest-xdist worker (`make test-fast` runs two) gets a folder of its own under PORTAL_VAR_DIR: its
SQLite database, filesystem broker and uploads, so two workers never share a row, a message or a file
(on PostgreSQL, pytest-django gives each worker a database of its own).

A plugin that `make test-fast` loads with `-p tests.xdist_var_dir` (under `python -m pytest`, so the
repository is on sys.path), because the settings read PORTAL_VAR_DIR when pytest-django imports them,
before any conftest.py is loaded; xdist names the worker in PYTEST_XDIST_WORKER before the worker's pytest
starts. Without xdist it changes nothing; -n without it is refused by tests/conftest.py.
"""

import os
from pathlib import Path

if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _base = Path(os.environ.get("PORTAL_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    os.environ["PORTAL_VAR_DIR"] = str(_base / worker)
    # A worker's settings are read once per process; MEDIA_ROOT follows PORTAL_VAR_DIR unless set on its own.
    if "MEDIA_ROOT" in os.environ:
        os.environ["MEDIA_ROOT"] = str(Path(os.environ["MEDIA_ROOT"]) / worker)
    # One Redis is one queue for all workers: one worker's purge would take another's messages. The
    # workers use the filesystem broker in their own folders instead; `make test` (CI) runs on Redis.
    os.environ.pop("CELERY_BROKER_URL", None)
