"""The fast tier (`make test-fast`, pytest --fast) leaves out every test that needs a browser, a PACS peer,
a Celery worker process or another process of the portal, and `make test` still runs them all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import tiers
from tests.conftest import REPO_DIR

# A module of each kind left out, and two that mix tests of both tiers.
SAMPLE = {
    "tests/browser/test_axe_audit.py": "browser",
    "tests/integration/test_api.py": "integration",
    "tests/ml/test_dicom_compressed.py": "pacs",
    "tests/hospitals/test_listener.py": None,
}


def collect(*options: str) -> list[str]:
    """The test ids pytest selects from SAMPLE with these options, as `make test-fast` would run them."""
    tiers.requires("processes", "pytest in a process of its own")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *options, *SAMPLE],
        cwd=REPO_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if "::" in line]


@pytest.mark.processes  # two pytest processes: it runs in `make test`, which CI runs
def test_the_fast_tier_leaves_out_browser_worker_pacs_and_process_tests_and_keeps_the_rest():
    everything, fast = collect(), collect("--fast")

    assert set(fast) < set(everything)
    kept = {test.split("::")[0] for test in fast}
    assert kept == {"tests/browser/test_axe_audit.py", "tests/hospitals/test_listener.py"}
    browser = [test.split("::")[1] for test in fast if test.startswith("tests/browser/")]
    assert browser == ["test_an_allowed_violation_is_left_out_only_at_its_element_on_its_pages"]  # no Chromium
    listener = [test.split("::")[1].split("[")[0] for test in fast if test.startswith("tests/hospitals/")]
    assert "test_dicom_echo_fails_when_nothing_listens" in listener  # in-process: kept
    assert "test_a_study_storescu_sends_becomes_a_scan_of_the_modalitys_site" not in listener  # storescu
    assert "test_orthanc_can_echo_the_listener" not in listener  # Orthanc, through its fixture
    assert "test_the_listener_command_serves_until_sigterm" not in listener  # manage.py in its own process


def test_every_test_using_a_heavy_fixture_carries_its_marker_and_the_fast_tier_runs_none(request):
    """Over the tests of this very run: all of them under `make test`, the fast tier's under `make test-fast`."""
    fast = request.config.getoption("fast")
    for item in request.session.items:
        for fixture, marker in tiers.FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                assert item.get_closest_marker(marker), f"{item.nodeid} uses {fixture} but is not marked {marker}"
        if fast:
            assert not [m for m in tiers.LEFT_OUT_OF_FAST_TIER if item.get_closest_marker(m)], item.nodeid


def test_a_test_that_starts_a_heavy_thing_without_its_marker_fails_with_the_marker_to_add():
    with pytest.raises(pytest.fail.Exception, match=r"needs @pytest\.mark\.pacs"):
        tiers.requires("pacs", "dcmtk's storescu")


def test_a_test_with_the_marker_may_start_it(request):
    request.node.add_marker("pacs")  # as a decorator would, without leaving this test out of the fast tier

    tiers.requires("pacs", "dcmtk's storescu")


def test_every_marker_the_fast_tier_leaves_out_is_declared(pytestconfig):
    declared = {line.split(":")[0] for line in pytestconfig.getini("markers")}

    assert set(tiers.LEFT_OUT_OF_FAST_TIER) <= declared
    assert set(tiers.FIXTURE_MARKERS.values()) <= set(tiers.LEFT_OUT_OF_FAST_TIER)
