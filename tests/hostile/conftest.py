"""The hostile corpus's figures, collected as its tests run and printed at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

tally: Counter = Counter()
FIGURES = [
    ("files tried", "tried"),
    ("accepted", "accepted"),
    ("refused with a reason", "refused"),
    ("accepted although invalid", "accepted_invalid"),
    ("5xx responses", "server_errors"),
    ("files written outside the storage root", "outside_root"),
    ("stored files identical to a hostile input", "stored_identical"),
    ("accepted files run through the worker", "worker_runs"),
    ("worker crashes", "worker_crashes"),
    ("scans the worker left unfinished or failed", "worker_unfinished"),
]


def pytest_terminal_summary(terminalreporter):
    if tally:
        terminalreporter.section("hostile uploads")
        for words, key in FIGURES:
            terminalreporter.write_line(f"{tally[key]:6d}  {words}")
        for channel in sorted(key for key in tally if key.startswith("tried via ")):
            terminalreporter.write_line(f"{tally[channel]:6d}  {channel}")


@pytest.fixture
def hostile_tally():
    return tally
