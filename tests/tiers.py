"""The suite's two tiers: `make test` runs everything; `make test-fast` (pytest --fast) leaves out the tests
that need more than this process: a browser, a PACS peer, a Celery worker process, another process of the
portal, or minutes of training.

A test gets its marker in one of two ways, so a new one cannot forget it:
- it uses a fixture named in FIXTURE_MARKERS (or one that depends on it): tests/conftest.py adds the marker;
- it calls a helper that starts such a thing itself (storescu, a listener process, gunicorn, manage.py in a
  subprocess): the helper calls `requires(marker, ...)`, which fails a test that lacks the marker, in both
  tiers, with the line to add.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

# What `--fast` leaves out. Each is declared, with what it means, in pyproject.toml.
LEFT_OUT_OF_FAST_TIER = ("slow", "browser", "integration", "pacs", "processes")

# A test that uses one of these fixtures, directly or through another fixture, gets the marker.
FIXTURE_MARKERS = {
    "chromium": "browser",  # tests/browser: Chromium through Playwright
    "celery_worker_process": "integration",  # the session's real Celery worker
    "workers": "integration",  # tests/reliability: workers of the test's own
    "orthanc_server": "pacs",  # tests/hospitals: a real Orthanc
    "gunicorn_url": "processes",  # tests/hospitals/test_stow_bodies.py: gunicorn, as production serves
    "production": "processes",  # tests/test_security_headers.py: a process with production settings
}

_running: pytest.Item | None = None


class FastTierPasswordHasher(PBKDF2PasswordHasher):
    """Django's PBKDF2 at 1,000 iterations, for the fast tier only: the production count (1,500,000) costs
    about half a second a login on these cores, and the login, lockout and MFA tests log in hundreds of
    times. The code path is the production one; `make test` runs it at the production count."""

    iterations = 1_000


def add_fixture_markers(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()) and not item.get_closest_marker(marker):
                item.add_marker(marker)


def split_fast_tier(items: list[pytest.Item]) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(the tests the fast tier runs, the ones it leaves out)."""
    kept, left_out = [], []
    for item in items:
        heavy = any(item.get_closest_marker(marker) for marker in LEFT_OUT_OF_FAST_TIER)
        (left_out if heavy else kept).append(item)
    return kept, left_out


def set_running(item: pytest.Item | None) -> None:
    global _running
    _running = item


def requires(marker: str, what: str) -> None:
    """Fail the running test unless it carries `marker`: it is about to start `what`, which the fast tier
    must never start. Outside a test (a bench script importing a helper) it does nothing."""
    assert marker in LEFT_OUT_OF_FAST_TIER, marker
    if _running is not None and not _running.get_closest_marker(marker):
        pytest.fail(
            f"{_running.nodeid} starts {what}, so it needs @pytest.mark.{marker} (or a fixture that brings it: "
            f"tests/tiers.py FIXTURE_MARKERS); without it `make test-fast` would run it",
            pytrace=False,
        )
