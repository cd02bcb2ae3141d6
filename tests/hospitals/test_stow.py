"""DICOMweb STOW-RS at /dicomweb/studies: a site's systems store instances with a real DICOMweb client
(dicomweb-client), authenticated by the token of the site's service account."""

from __future__ import annotations

import io

import pydicom
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session

from accounts.models import ApiToken
from hospitals.models import DicomOrigin
from scans.models import Scan
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.conftest import session_worker_paused
from tests.factories import SiteFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph, ct_slice, identifiers

REFERENCED_SOP_SEQUENCE, FAILED_SOP_SEQUENCE = "00081199", "00081198"
REFERENCED_SOP_INSTANCE_UID, FAILURE_REASON = "00081155", "00081197"


@pytest.fixture
def site_token(transactional_db):
    account = UserFactory(email="pacs@st-elsewhere.example")
    site = SiteFactory(service_account=account)
    _, key = ApiToken.issue(account, "PACS gateway")
    return site, key


def client_for(live_server, key: str) -> DICOMwebClient:
    session = create_session()
    session.headers["Authorization"] = f"Token {key}"
    return DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session)


def dataset(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def test_a_pacs_stores_a_chest_radiograph_and_it_is_queued_for_the_site(live_server, site_token, chest_pixels):
    site, key = site_token
    sent = chest_radiograph(chest_pixels)
    with session_worker_paused():  # a worker left running by earlier tests would read it at once
        answer = client_for(live_server, key).store_instances([dataset(sent)])
        scan = Scan.objects.get(site=site)
    stored = answer.ReferencedSOPSequence
    assert [item.ReferencedSOPInstanceUID for item in stored] == [identifiers(sent)["SOPInstanceUID"]]
    assert scan.status == Scan.Status.QUEUED, scan.status_reason
    assert scan.dicom_origin.received_via == DicomOrigin.Via.STOW_RS


def test_a_refused_instance_is_listed_as_failed_beside_the_stored_one(live_server, site_token, chest_pixels):
    site, key = site_token
    chest, ct = chest_radiograph(chest_pixels), ct_slice(chest_pixels)
    response = post_instances(live_server, key, [chest, ct])
    assert response.status_code == 202
    body = response.json()
    assert [item[REFERENCED_SOP_INSTANCE_UID]["Value"] for item in body[REFERENCED_SOP_SEQUENCE]["Value"]] == [
        [identifiers(chest)["SOPInstanceUID"]]
    ]
    failed = body[FAILED_SOP_SEQUENCE]["Value"][0]
    assert failed[REFERENCED_SOP_INSTANCE_UID]["Value"] == [identifiers(ct)["SOPInstanceUID"]]
    assert failed[FAILURE_REASON]["Value"] == [0xC000]
    assert Scan.objects.filter(site=site).count() == 1


def test_only_refused_instances_answer_409(live_server, site_token, chest_pixels):
    _, key = site_token
    response = post_instances(live_server, key, [ct_slice(chest_pixels)])
    assert response.status_code == 409 and response.headers["Content-Type"].startswith("application/dicom+json")
    assert not Scan.objects.exists()


def test_the_same_instance_stored_twice_is_read_once(live_server, site_token, chest_pixels):
    _, key = site_token
    sent = chest_radiograph(chest_pixels)
    for _ in range(2):
        assert post_instances(live_server, key, [sent]).status_code == 200
    assert Scan.objects.count() == 1


def test_a_token_of_an_account_that_is_no_site_is_refused(live_server, transactional_db, chest_pixels):
    _, key = ApiToken.issue(UserFactory(), "a parent's token")
    response = post_instances(live_server, key, [chest_radiograph(chest_pixels)])
    assert response.status_code == 403 and not Scan.objects.exists()


def test_no_token_is_refused(live_server, transactional_db, chest_pixels):
    response = requests.post(f"{live_server.url}/dicomweb/studies", data=b"", timeout=30)
    assert response.status_code == 401


def test_parts_that_are_not_dicom_are_refused_as_unsupported(live_server, site_token):
    _, key = site_token
    response = post_instances(live_server, key, [b"%PDF-1.7 a letter"], part_type="application/pdf")
    assert response.status_code == 415 and not Scan.objects.exists()


def test_a_body_that_is_not_multipart_is_refused_clearly(live_server, site_token):
    _, key = site_token
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/dicom"}
    response = requests.post(f"{live_server.url}/dicomweb/studies", data=b"DICM", headers=headers, timeout=30)
    assert response.status_code == 415


def test_garbage_in_a_dicom_part_fails_that_part_only(live_server, site_token):
    _, key = site_token
    response = post_instances(live_server, key, [b"\x00" * 64])
    assert response.status_code == 409
    assert response.json()[FAILED_SOP_SEQUENCE]["Value"][0][FAILURE_REASON]["Value"] == [0xC000]


def test_a_request_over_the_limit_is_refused_before_it_is_read(live_server, site_token, settings):
    _, key = site_token
    settings.STOW_MAX_REQUEST_BYTES = 1000
    response = post_instances(live_server, key, [b"\x00" * 5000])
    assert response.status_code == 413 and not Scan.objects.exists()


def post_instances(live_server, key: str, parts: list[bytes], part_type: str = "application/dicom"):
    boundary = "portal-test-boundary"
    body = (
        b"".join(f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part + b"\r\n" for part in parts)
        + f"--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Token {key}",
        "Content-Type": f'multipart/related; type="{part_type}"; boundary={boundary}',
        "Accept": "application/dicom+json",
    }
    return requests.post(f"{live_server.url}/dicomweb/studies", data=body, headers=headers, timeout=60)
