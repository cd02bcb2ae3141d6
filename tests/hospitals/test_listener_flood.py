"""A flood of connections cannot close the C-STORE listener, run as `make run` runs it (its own process,
the default limits and timeouts): a modality's storescu, given 2 s for each step, stores under the flood
and right after it, and /metrics shows the flood."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import pytest
from django.urls import reverse
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from tests.factories import SiteFactory, UserFactory
from tests.hospitals.dcmtk import storescu
from tests.hospitals.listener_process import start_listener
from tests.hospitals.orthanc import free_port
from tests.hospitals.studies import chest_radiograph

pytestmark = [pytest.mark.pacs, pytest.mark.processes]  # storescu, against the listener's own process

MODALITY = "DEMO_MODALITY"
IDLE_CONNECTIONS, IDLE_ASSOCIATIONS = 50, 10
# storescu's own deadlines: 2 s to connect (-to), for the association (-ta) and for the store's answer (-td).
WITHIN_2_S = ["-to", "2", "-ta", "2", "-td", "2"]


@pytest.fixture
def modality_site(transactional_db):
    return SiteFactory(name="Demo Clinic", ae_titles=[MODALITY])


@pytest.fixture
def film(chest_pixels, tmp_path):
    path = tmp_path / "film.dcm"
    path.write_bytes(chest_radiograph(chest_pixels))
    return path


@pytest.fixture
def listener(modality_site, tmp_path):
    """manage.py dicom_listener with the settings' defaults; its status row is written every second so that
    the metrics test need not wait the default five."""
    process = start_listener(free_port(), tmp_path / "listener.log", {"DICOM_STATUS_SECONDS": "1"})
    yield process
    assert process.stop() == 0, process.log()


class Flood:
    """Idle TCP connections and idle associations from a site's AE title, as an attacker on the network
    opens them; close() ends them all at once."""

    def __init__(self, port: int):
        self.port = port
        self.sockets: list[socket.socket] = []
        self.associations = []

    def open(self, connections: int, associations: int) -> Flood:
        self.sockets = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(connections)]
        ae = AE(ae_title=MODALITY)
        ae.acse_timeout = ae.dimse_timeout = 30
        ae.network_timeout = 120  # this side never drops them: the listener must
        ae.add_requested_context(Verification)
        self.associations = [ae.associate("127.0.0.1", self.port, ae_title="PNEUMONIA") for _ in range(associations)]
        return self

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        for assoc in self.associations:
            assoc.abort()


def test_a_modality_stores_within_2_s_under_a_flood_and_1_s_after_it(listener, film):
    flood = Flood(listener.port).open(IDLE_CONNECTIONS, IDLE_ASSOCIATIONS)
    try:
        assert sum(assoc.is_established for assoc in flood.associations) == IDLE_ASSOCIATIONS
        under_flood = storescu([film], listener.port, calling=MODALITY, options=WITHIN_2_S)
    finally:
        flood.close()
    time.sleep(1)
    after_flood = storescu([film], listener.port, calling=MODALITY, options=WITHIN_2_S)

    assert under_flood.returncode == 0, under_flood.stdout + under_flood.stderr + listener.log()
    assert after_flood.returncode == 0, after_flood.stdout + after_flood.stderr + listener.log()


def test_the_issues_reproduction_no_longer_fails(listener, film):
    """Issue 24's command, as written: ten idle sockets held for 40 s, then a plain storescu."""
    hold = (
        "import socket,time; "
        f"s=[socket.create_connection(('127.0.0.1',{listener.port})) for _ in range(10)]; time.sleep(40)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold])
    try:
        time.sleep(1)
        finished = subprocess.run(
            ["storescu", "-aet", MODALITY, "-aec", "PNEUMONIA", "127.0.0.1", str(listener.port), str(film)],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        holder.kill()
        holder.wait()

    assert finished.returncode == 0, finished.stdout + finished.stderr + listener.log()


def test_metrics_show_a_flood_on_the_listener(listener, client):
    client.force_login(UserFactory(is_staff=True))
    flood = Flood(listener.port).open(IDLE_CONNECTIONS, IDLE_ASSOCIATIONS)
    try:
        text = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the listener writes its status every second
            text = client.get(reverse("metrics")).content.decode()
            if metric(text, "portal_dicom_listener_associations") == IDLE_ASSOCIATIONS:
                break
            time.sleep(0.5)
    finally:
        flood.close()

    assert metric(text, "portal_dicom_listeners") == 1
    assert metric(text, "portal_dicom_listener_associations") == IDLE_ASSOCIATIONS, text
    # Past the per-address limit, each new silent connection closed an older one.
    assert metric(text, "portal_dicom_listener_refusals_total", 'reason="made_room"') >= 1, text


def metric(text: str, name: str, label: str = "") -> float | None:
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{([^}}]*)\}})? (\S+)", line)
        if match and label in (match.group(1) or ""):
            return float(match.group(2))
    return None
