"""Who gets a connection to the listener and for how long (hospitals.admission), in the test process with
tight limits: a peer over its limit is refused at accept and logged once per interval, a silent
connection makes room for a sender, connections that ask for nothing and associations that say nothing
are closed after their timeouts, a closed connection frees its slot, addresses bound to a site keep a
reserved share, and /metrics shows it all."""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from hospitals import admission
from hospitals.listener import serve
from hospitals.listener_status import Reporter
from hospitals.models import ListenerStatus
from tests.factories import SiteAETitleFactory, SiteFactory, UserFactory
from tests.hospitals.dcmtk import storescu
from tests.hospitals.studies import chest_radiograph

MODALITY = "DEMO_MODALITY"
CLOSE_WAIT_SECONDS = 10  # how long a test waits to see the listener close something it should


@pytest.fixture
def start_listener(settings, transactional_db):
    """Start the listener in this process under these DICOM_* settings; stopped after the test."""
    servers = []

    def start(**dicom_settings):
        for name, value in dicom_settings.items():
            setattr(settings, f"DICOM_{name.upper()}", value)
        server = serve(address="127.0.0.1", port=0, ae_title="PNEUMONIA", block=False)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def silence_never_makes_room(monkeypatch):
    """For tests of refusals: a slow machine must not let held associations go silent long enough to make
    room for the newcomer."""
    monkeypatch.setattr(admission, "SILENT_ASSOCIATION_SECONDS", 600)


@pytest.fixture
def modality_site(transactional_db):
    return SiteFactory(name="Demo Clinic", ae_titles=[MODALITY])


def port_of(server) -> int:
    return server.server_address[1]


def associate(server, calling: str = MODALITY, source: str = "127.0.0.1"):
    """An association that stays silent: this side never drops it on its own."""
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = 30
    ae.network_timeout = 120
    ae.add_requested_context(Verification)
    return ae.associate("127.0.0.1", port_of(server), ae_title="PNEUMONIA", bind_address=(source, 0))


def idle_connection(server, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(server)), timeout=CLOSE_WAIT_SECONDS,
                                    source_address=(source, 0))  # fmt: skip


def closed_by_listener(sock: socket.socket) -> bool:
    """Whether the listener closes this connection (before the wait ends)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def wait_until(condition, seconds: float = CLOSE_WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def refusal_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("DICOM connection from")]


def test_a_peer_over_its_limit_is_refused_at_accept_and_logged_once_per_interval(
    start_listener, modality_site, caplog, silence_never_makes_room
):
    server = start_listener(max_connections_per_peer=2, refusal_log_seconds=60)
    held = [associate(server), associate(server)]
    assert all(assoc.is_established for assoc in held)

    with caplog.at_level(logging.WARNING, logger="hospitals"):
        refused = [idle_connection(server) for _ in range(5)]
        assert all(closed_by_listener(sock) for sock in refused)

    assert refusal_lines(caplog) == [
        "DICOM connection from 127.0.0.1 refused at accept: the address is at its limit of connections (1 in the last 60 s)"
    ]
    assert server.gate.snapshot().refusals["peer_limit"] == 5
    assert all(assoc.is_established for assoc in held)  # what it holds is untouched


def test_the_refusals_held_back_are_logged_with_their_count_after_the_interval(
    start_listener, modality_site, caplog, silence_never_makes_room
):
    server = start_listener(max_connections_per_peer=1, refusal_log_seconds=2)
    assert associate(server).is_established

    with caplog.at_level(logging.WARNING, logger="hospitals"):
        refused = [idle_connection(server) for _ in range(4)]
        assert all(closed_by_listener(sock) for sock in refused)
        time.sleep(2)
        server.gate.flush_log()  # the status thread does this every DICOM_STATUS_SECONDS

    lines = refusal_lines(caplog)
    assert lines[0].endswith("(1 in the last 2 s)") and lines[-1].endswith("(3 in the last 2 s)"), lines


def test_a_flood_of_unknown_calling_ae_titles_is_rejected_counted_and_logged_once(
    start_listener, transactional_db, caplog
):
    server = start_listener(refusal_log_seconds=60)

    with caplog.at_level(logging.WARNING, logger="hospitals"):
        assert all(associate(server, "STRANGER").is_rejected for _ in range(5))

    assert refusal_lines(caplog) == [
        "DICOM connection from 127.0.0.1 association rejected: unknown calling AE title 'STRANGER' (1 in the last 60 s)"
    ]
    assert server.gate.snapshot().refusals["unknown_calling_ae"] == 5


@pytest.mark.pacs
def test_a_silent_connection_makes_room_for_a_sender_from_the_same_address(
    start_listener, modality_site, chest_pixels, tmp_path
):
    server = start_listener(max_connections_per_peer=2, acse_timeout=60)
    oldest, newer = idle_connection(server), idle_connection(server)
    film = tmp_path / "chest.dcm"
    film.write_bytes(chest_radiograph(chest_pixels))

    finished = storescu([film], port_of(server), calling=MODALITY)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert closed_by_listener(oldest)
    newer.settimeout(0.5)
    assert not closed_by_listener(newer)  # only the oldest silent one made room
    assert server.gate.snapshot().refusals["made_room"] == 1


@pytest.mark.pacs
def test_an_association_silent_for_a_while_makes_room_when_its_address_is_full(
    start_listener, modality_site, chest_pixels, tmp_path
):
    server = start_listener(max_connections_per_peer=2, network_timeout=60)
    older, newer = associate(server), associate(server)
    assert older.is_established and newer.is_established
    time.sleep(admission.SILENT_ASSOCIATION_SECONDS)
    film = tmp_path / "chest.dcm"
    film.write_bytes(chest_radiograph(chest_pixels))

    finished = storescu([film], port_of(server), calling=MODALITY)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert wait_until(lambda: older.is_aborted)
    assert newer.is_established
    newer.release()


def test_a_connection_that_asks_for_nothing_is_closed_after_the_acse_timeout(start_listener, transactional_db):
    server = start_listener(acse_timeout=0.5)
    silent = idle_connection(server)

    assert closed_by_listener(silent)
    assert server.gate.snapshot().refusals["no_request"] == 1


@pytest.mark.parametrize(
    "first_bytes",
    [b"\x04\x00" + (100).to_bytes(4, "big") + b"\x00" * 36, b"\x01\x00" + (2**32 - 1).to_bytes(4, "big") + b"\x00" * 36,
     b"GET / HTTP/1.1\r\nHost: portal\r\n\r\n" + b"x" * 10],
    ids=["P-DATA before an association", "a 4 GB association request", "HTTP"],
)  # fmt: skip
def test_what_is_not_an_association_request_is_closed_unread(start_listener, transactional_db, first_bytes):
    server = start_listener(acse_timeout=30)
    peer = idle_connection(server)

    peer.sendall(first_bytes)

    assert closed_by_listener(peer)
    assert server.gate.snapshot().refusals["no_request"] == 1


def test_a_closed_connection_frees_its_slot_before_any_timeout(start_listener, transactional_db):
    server = start_listener(acse_timeout=60, network_timeout=60)
    silent = [idle_connection(server) for _ in range(3)]
    assert wait_until(lambda: server.gate.snapshot().waiting == 3)

    for sock in silent:
        sock.close()

    assert wait_until(lambda: server.gate.snapshot().waiting == 0)
    assert server.gate.snapshot().refusals["no_request"] == 0  # the peer closed them: nothing was refused


def test_a_closed_association_frees_its_slot_for_the_next(start_listener, modality_site, silence_never_makes_room):
    server = start_listener(max_connections_per_peer=2, network_timeout=60)
    first, second = associate(server), associate(server)
    assert associate(server).is_established is False  # both slots are associations: nothing to make room

    first.abort()

    assert wait_until(lambda: server.gate.snapshot().associations == 1)
    assert associate(server).is_established
    second.release()


def test_an_idle_association_is_aborted_after_the_network_timeout(start_listener, modality_site):
    server = start_listener(network_timeout=0.5)
    idle = associate(server)
    assert idle.is_established

    assert wait_until(lambda: idle.is_aborted)
    assert wait_until(lambda: server.gate.snapshot().associations == 0)


@pytest.mark.pacs
def test_a_sites_bound_address_keeps_its_reserved_share_when_others_fill_the_listener(
    start_listener, transactional_db, chest_pixels, tmp_path, silence_never_makes_room
):
    SiteFactory(ae_titles=["ANY_ROOM"])  # may send from anywhere: the flood claims to be it
    SiteAETitleFactory(ae_title="WARD_DX", host="127.0.0.1")
    server = start_listener(max_connections=2, reserved_connections=1, max_connections_per_peer=2)
    Reporter(server.gate).report()  # reads the bound addresses, as the listener's status thread does
    flood = [associate(server, "ANY_ROOM", source="127.0.0.2") for _ in range(2)]
    assert all(assoc.is_established for assoc in flood)
    assert closed_by_listener(idle_connection(server, source="127.0.0.3"))  # the listener is full for others
    film = tmp_path / "chest.dcm"
    film.write_bytes(chest_radiograph(chest_pixels))

    finished = storescu([film], port_of(server), calling="WARD_DX")

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert server.gate.snapshot().refusals["listener_full"] == 1


def test_metrics_show_the_listeners_associations_and_refusals(
    start_listener, modality_site, client, silence_never_makes_room
):
    server = start_listener(max_connections_per_peer=1)
    held = associate(server)
    assert closed_by_listener(idle_connection(server))
    Reporter(server.gate, name="dicom-host:42").report()
    ListenerStatus.objects.create(
        listener="stopped-host:7", associations=5, last_seen=timezone.now() - timedelta(hours=1)
    )
    client.force_login(UserFactory(is_staff=True))

    text = client.get(reverse("metrics")).content.decode()

    assert "portal_dicom_listeners 1.0" in text
    assert 'portal_dicom_listener_associations{listener="dicom-host:42"} 1.0' in text
    assert 'portal_dicom_listener_waiting_connections{listener="dicom-host:42"} 0.0' in text
    assert 'portal_dicom_listener_refusals_total{listener="dicom-host:42",reason="peer_limit"} 1.0' in text
    assert "stopped-host" not in text  # a listener that stopped writing is not counted
    held.release()
