"""DICOMweb read (QIDO-RS and WADO-RS) at /dicomweb, with a real DICOMweb client (dicomweb-client) against the
portal served by live_server: a parent reads their own uploads (a DICOM and a JPEG, as a Secondary Capture)
by token or by their browser session, a site's reader reads the site's studies by token."""

from __future__ import annotations

import io

import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from dicomweb_client.session_utils import create_session
from PIL import Image

from accounts.models import ApiToken
from actions.dicomweb_access import dicomweb_instance_path
from actions.scans import upload_scan
from audit.models import AuditEvent
from hospitals.intake import receive
from hospitals.models import DicomOrigin
from scans.models import DicomInstance
from scans.services import ClinicalContext
from scans.validation import validate_file
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import PatientFactory, RadiologistFactory, SiteFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph, xray_pixels

STUDY_UID, SERIES_UID, SOP_UID, PATIENT_ID, MODALITIES = "0020000D", "0020000E", "00080018", "00100020", "00080061"


@pytest.fixture
def chest_pixels(xray_path) -> np.ndarray:
    return xray_pixels(xray_path)


@pytest.fixture
def parent(transactional_db):
    return UserFactory(email="parent@example.org")


def upload(owner, data: bytes, name: str, patient=None):
    patient = patient or PatientFactory(owner=owner)
    return upload_scan(owner, validate_file(data, name), ClinicalContext(patient=patient))


def client_for(live_server, *, token: str | None = None, cookies: dict | None = None) -> DICOMwebClient:
    session = create_session()
    if token:
        session.headers["Authorization"] = f"Token {token}"
    for name, value in (cookies or {}).items():
        session.cookies.set(name, value)
    return DICOMwebClient(url=f"{live_server.url}/dicomweb", session=session)


def token_of(user) -> str:
    return ApiToken.issue(user, "viewer")[1]


def uids(scan) -> tuple[str, str, str]:
    instance = DicomInstance.objects.get(scan=scan)
    return instance.study_instance_uid, instance.series_instance_uid, instance.sop_instance_uid


def values(found: list[dict], tag: str) -> list:
    return [item[tag]["Value"][0] for item in found if "Value" in item.get(tag, {})]


def test_a_parent_finds_and_reads_their_dicom_upload_with_a_dicomweb_client(live_server, parent, chest_pixels):
    scan = upload(parent, chest_radiograph(chest_pixels), "chest.dcm")
    study, series, sop = uids(scan)
    client = client_for(live_server, token=token_of(parent))

    studies = client.search_for_studies()
    instance = client.retrieve_instance(study, series, sop)
    (frame,) = client.retrieve_instance_frames(study, series, sop, frame_numbers=[1])
    metadata = client.retrieve_instance_metadata(study, series, sop)

    assert values(studies, STUDY_UID) == [study]
    assert instance.SOPInstanceUID == sop and instance.PatientName == ""
    assert instance.PatientID == values(studies, PATIENT_ID)[0] != "HOSP-123456"
    assert np.array_equal(np.frombuffer(frame, dtype="<u2").reshape(chest_pixels.shape), chest_pixels)
    assert "7FE00010" not in metadata and metadata["00280010"]["Value"] == [chest_pixels.shape[0]]


def test_a_jpeg_upload_is_served_as_a_secondary_capture_of_the_same_picture(live_server, parent, xray_bytes):
    scan = upload(parent, xray_bytes, "chest.jpeg")
    study, series, sop = uids(scan)
    client = client_for(live_server, token=token_of(parent))

    instance = client.retrieve_instance(study, series, sop)
    (frame,) = client.retrieve_instance_frames(study, series, sop, frame_numbers=[1])

    stored = np.asarray(Image.open(scan.image.open("rb")))
    assert instance.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7"
    assert np.array_equal(np.frombuffer(frame, dtype=np.uint8).reshape(stored.shape), stored)
    assert dicomweb_instance_path(scan) == f"/dicomweb/studies/{study}/series/{series}/instances/{sop}"


def test_a_parents_two_profiles_have_two_patient_ids_and_one_profile_one(live_server, parent, xray_bytes):
    first_child, second_child = PatientFactory.create_batch(2, owner=parent)
    upload(parent, xray_bytes, "a.jpeg", first_child)
    upload(parent, xray_bytes, "b.jpeg", first_child)
    upload(parent, xray_bytes, "c.jpeg", second_child)
    client = client_for(live_server, token=token_of(parent))
    first_id = DicomInstance.objects.filter(scan__patient=first_child).first().patient_id

    studies = client.search_for_studies(search_filters={"PatientID": first_id})

    assert len(studies) == 2 and set(values(studies, PATIENT_ID)) == {first_id}
    assert len(client.search_for_studies()) == 3


def test_a_client_searches_series_and_instances_across_studies_or_within_one(live_server, parent, xray_bytes):
    first_child, second_child = PatientFactory.create_batch(2, owner=parent)
    first = upload(parent, xray_bytes, "a.jpeg", first_child)
    upload(parent, xray_bytes, "b.jpeg", second_child)
    client = client_for(live_server, token=token_of(parent))
    first_id = DicomInstance.objects.get(scan=first).patient_id
    study, series, sop = uids(first)

    all_series = client.search_for_series()
    first_childs_instances = client.search_for_instances(search_filters={"PatientID": first_id})
    in_the_study = client.search_for_instances(study_instance_uid=study)

    assert len(all_series) == 2 and len(client.search_for_instances()) == 2
    assert values(first_childs_instances, SOP_UID) == [sop] == values(in_the_study, SOP_UID)
    assert values(client.search_for_series(study_instance_uid=study), SERIES_UID) == [series]


def test_a_parent_reads_over_their_browser_session(live_server, parent, xray_bytes, client):
    scan = upload(parent, xray_bytes, "chest.jpeg")
    client.force_login(parent)
    session = client_for(live_server, cookies={"sessionid": client.cookies["sessionid"].value})

    assert values(session.search_for_studies(), STUDY_UID) == [uids(scan)[0]]


def test_a_sites_reader_finds_the_sites_study_by_its_own_accession_number(live_server, chest_pixels):
    reader = RadiologistFactory()
    site = SiteFactory()
    site.readers.add(reader)
    received = receive(chest_radiograph(chest_pixels), site=site, via=DicomOrigin.Via.STOW_RS)
    receive(chest_radiograph(chest_pixels), site=site, via=DicomOrigin.Via.STOW_RS)
    client = client_for(live_server, token=token_of(reader))
    accession = received.origin.accession_number

    studies = client.search_for_studies(search_filters={"AccessionNumber": accession})
    study, series, sop = uids(received.scan)
    instance = client.retrieve_instance(study, series, sop)

    assert values(studies, STUDY_UID) == [study] != [received.origin.study_instance_uid]
    assert values(studies, "00080050") == [accession]
    assert instance.PatientName == "" and instance.AccessionNumber == ""
    assert np.array_equal(instance.pixel_array, chest_pixels)


def test_each_read_leaves_its_audit_record(live_server, parent, xray_bytes):
    scan = upload(parent, xray_bytes, "chest.jpeg")
    study, series, sop = uids(scan)
    client = client_for(live_server, token=token_of(parent))

    client.search_for_studies()
    client.retrieve_instance(study, series, sop)
    client.retrieve_instance_metadata(study, series, sop)
    client.retrieve_instance_frames(study, series, sop, frame_numbers=[1])
    client.retrieve_instance_rendered(study, series, sop, media_types=("image/png",))

    details = list(
        AuditEvent.objects.filter(scan_id=scan.pk, actor=parent).order_by("id").values_list("detail", flat=True)
    )
    assert details == [
        "dicomweb: search for studies",
        "dicomweb: instances",
        "dicomweb: metadata",
        "dicomweb: frames 1",
        "dicomweb: rendered",
    ]


def test_the_rendered_picture_follows_the_window_asked_for(live_server, parent, chest_pixels):
    scan = upload(parent, chest_radiograph(chest_pixels), "chest.dcm")
    study, series, sop = uids(scan)
    client = client_for(live_server, token=token_of(parent))

    def rendered(**params):
        data = client.retrieve_instance_rendered(study, series, sop, media_types=("image/png",), params=params)
        return np.asarray(Image.open(io.BytesIO(data)))

    full, narrow = rendered(), rendered(window="2048,200,linear")

    assert full.shape == chest_pixels.shape
    assert (narrow == 0).mean() > (full == 0).mean() and (narrow == 255).mean() > (full == 255).mean()
