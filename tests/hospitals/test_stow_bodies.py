"""STOW-RS refuses a body it cannot store whole, and stores nothing of it: an empty body, one without
parts or without its closing boundary (400), and one that does not come in time (408), under Django's
server (the live server) and under gunicorn, as in production. The slow clients are raw sockets that
send the headers and then stall, as an attacker would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from accounts.models import ApiToken
from scans.models import Scan
from tests import tiers
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.conftest import worker_environment
from tests.factories import SiteFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph

BOUNDARY = "portal-test-boundary"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
# How long the client waits for an answer before the test calls the worker held: far past the deadline.
CLIENT_PATIENCE_SECONDS = 30


@pytest.fixture
def site_key(transactional_db):
    account = UserFactory()
    SiteFactory(service_account=account)
    return ApiToken.issue(account, "PACS gateway")[1]


@pytest.fixture
def short_deadline(settings):
    settings.STOW_BODY_SECONDS = 1
    return settings.STOW_BODY_SECONDS


def part(data: bytes) -> bytes:
    return f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"


def post(url: str, key: str, body: bytes) -> requests.Response:
    headers = {"Authorization": f"Token {key}", "Content-Type": CONTENT_TYPE, "Accept": "application/dicom+json"}
    return requests.post(f"{url}/dicomweb/studies", data=body, headers=headers, timeout=CLIENT_PATIENCE_SECONDS)


def assert_refused_as_a_problem(response: requests.Response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and reason in problem["detail"] and "Nothing was stored" in problem["detail"]


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "The body is empty"),
        (f"--{BOUNDARY}--\r\n".encode(), "holds no parts"),
        (b"not a multipart body at all", "holds no parts"),
    ],
    ids=["empty", "no parts", "no boundary"],
)
def test_a_body_without_instances_is_refused_with_400(live_server, site_key, body, reason):
    assert_refused_as_a_problem(post(live_server.url, site_key, body), 400, reason)


def test_a_body_cut_before_its_closing_boundary_stores_nothing(live_server, site_key, chest_pixels):
    whole_instance_but_no_end = part(chest_radiograph(chest_pixels))

    response = post(live_server.url, site_key, whole_instance_but_no_end)

    assert_refused_as_a_problem(response, 400, "closing boundary")
    assert not Scan.objects.exists()


def test_a_whole_body_is_still_stored(live_server, site_key, chest_pixels):
    response = post(live_server.url, site_key, part(chest_radiograph(chest_pixels)) + f"--{BOUNDARY}--\r\n".encode())

    assert response.status_code == 200 and Scan.objects.count() == 1


def stalled_request(url: str, key: str | None, declared: int, sent: bytes = b"") -> tuple[int, dict, bytes]:
    """Headers declaring `declared` bytes, then `sent` of them, then nothing: the status, the JSON body and
    whatever else the server sent until it closed the connection. A server that holds the request past
    CLIENT_PATIENCE_SECONDS fails the test by socket.timeout."""
    address = urlsplit(url)
    head = [
        "POST /dicomweb/studies HTTP/1.1",
        f"Host: {address.hostname}:{address.port}",
        f"Content-Type: {CONTENT_TYPE}",
        f"Content-Length: {declared}",
        "Accept: application/dicom+json",
        *([f"Authorization: Token {key}"] if key else []),
    ]
    with socket.create_connection((address.hostname, address.port), timeout=CLIENT_PATIENCE_SECONDS) as client:
        client.sendall("\r\n".join(head).encode() + b"\r\n\r\n" + sent)
        answer = b""
        while chunk := client.recv(65536):  # until the server closes: the worker is free again
            answer += chunk
    head, _, rest = answer.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    return int(head.split(b" ")[1]), json.loads(rest[:length]), rest[length:]


def test_a_body_that_never_comes_is_answered_408_and_the_connection_closed(live_server, site_key, short_deadline):
    status, problem, _ = stalled_request(live_server.url, site_key, declared=1000)

    assert status == 408 and problem["status"] == 408 and "did not arrive" in problem["detail"]


def test_a_body_that_stops_halfway_is_answered_408_and_nothing_is_stored(
    live_server, site_key, short_deadline, chest_pixels
):
    body = part(chest_radiograph(chest_pixels)) + f"--{BOUNDARY}--\r\n".encode()

    status, _, _ = stalled_request(live_server.url, site_key, declared=len(body), sent=body[: len(body) // 2])

    assert status == 408
    assert not Scan.objects.exists()


def test_a_refused_token_with_a_body_that_never_comes_does_not_hold_the_server(live_server, short_deadline, db):
    status, problem, _ = stalled_request(live_server.url, "not-a-token", declared=1000)

    assert status == 401 and problem["status"] == 401


def test_a_body_that_is_sent_whole_and_slowly_within_the_deadline_is_read(live_server, site_key, settings):
    settings.STOW_BODY_SECONDS = 20
    address = urlsplit(live_server.url)
    body = f"--{BOUNDARY}--\r\n".encode()  # no parts: a 400 that needs the whole body read
    with socket.create_connection((address.hostname, address.port), timeout=CLIENT_PATIENCE_SECONDS) as client:
        client.sendall(
            f"POST /dicomweb/studies HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: {len(body)}\r\nAuthorization: Token {site_key}\r\n\r\n".encode()
        )
        for byte in body:
            client.sendall(bytes([byte]))
            time.sleep(0.05)
        answer = client.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"holds no parts" in answer


# --- Under gunicorn, as docker-compose runs the web service ------------------------------------------


@pytest.fixture
def gunicorn_url(transactional_db, tmp_path):
    """One sync worker (the Dockerfile's kind), so a held worker would hold the whole server."""
    tiers.requires("processes", "gunicorn")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--timeout", "120",
    ]  # fmt: skip
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        command, env={**worker_environment(), "STOW_BODY_SECONDS": "1"}, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (a 401 to an anonymous GET); it imports every view first
            try:
                requests.get(f"{url}/dicomweb/studies", timeout=CLIENT_PATIENCE_SECONDS)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_under_gunicorn_a_body_that_never_comes_frees_the_only_worker(gunicorn_url, site_key):
    status, problem, _ = stalled_request(gunicorn_url, site_key, declared=1000)

    assert status == 408 and "did not arrive" in problem["detail"]
    assert_refused_as_a_problem(post(gunicorn_url, site_key, f"--{BOUNDARY}--\r\n".encode()), 400, "no parts")


def test_a_body_trickled_past_the_deadline_is_answered_408(live_server, site_key, short_deadline):
    """A byte now and then keeps each read alive: the deadline is on the whole body, not on each read."""
    address = urlsplit(live_server.url)
    with socket.create_connection((address.hostname, address.port), timeout=CLIENT_PATIENCE_SECONDS) as client:
        client.sendall(
            f"POST /dicomweb/studies HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: 1000\r\nAuthorization: Token {site_key}\r\n\r\n".encode()
        )
        client.settimeout(0.3)
        answer = b""
        for _ in range(int(CLIENT_PATIENCE_SECONDS / 0.3)):
            try:
                client.sendall(b"-")
                answer = client.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # the server stopped reading and closed after answering
                break
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_body_declared_over_the_limit_is_answered_413_without_waiting_for_it(live_server, site_key, settings):
    settings.STOW_MAX_REQUEST_BYTES = 1000

    status, problem, _ = stalled_request(live_server.url, site_key, declared=5000)

    assert status == 413 and "larger than 1000 bytes" in problem["detail"]
