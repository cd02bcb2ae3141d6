"""A site's instance taken in (hospitals.intake): the same validation and queue as an upload, the
original identifiers kept apart from the de-identified copy, a re-sent instance read once."""

from __future__ import annotations

import pydicom
import pytest

from hospitals.intake import Refused, receive, site_for_calling_ae
from hospitals.models import DicomOrigin
from scans.models import Scan
from tests.factories import SiteAETitleFactory, SiteFactory, private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph, ct_slice, identifiers, multi_frame

pytestmark = pytest.mark.django_db


def test_a_chest_radiograph_from_a_site_becomes_a_queued_scan_of_the_site(chest_pixels):
    site = SiteFactory()
    sent = chest_radiograph(chest_pixels)
    received = receive(sent, site=site, via=DicomOrigin.Via.C_STORE, calling_ae_title="CR_ROOM_1")
    scan = Scan.objects.get(pk=received.scan.pk)
    assert received.created and scan.site == site and scan.owner is None and scan.patient is None
    assert scan.status == Scan.Status.QUEUED and scan.source_format == "DICOM"
    original = identifiers(sent)
    origin = scan.dicom_origin
    assert origin.study_instance_uid == original["StudyInstanceUID"]
    assert origin.sop_instance_uid == original["SOPInstanceUID"]
    assert origin.accession_number == original["AccessionNumber"]
    assert origin.patient_id == original["PatientID"] and origin.patient_name == original["PatientName"]
    assert origin.calling_ae_title == "CR_ROOM_1"


def test_the_stored_copy_of_a_sites_study_is_de_identified(chest_pixels):
    sent = chest_radiograph(chest_pixels)
    scan = receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE).scan
    with scan.dicom_file.open("rb") as stored:
        copy = pydicom.dcmread(stored)
    original = identifiers(sent)
    assert str(copy.PatientName) == "" and str(copy.PatientID) == ""
    assert str(copy.AccessionNumber) == ""
    assert copy.StudyInstanceUID != original["StudyInstanceUID"]


def test_the_same_instance_sent_twice_is_read_once(chest_pixels):
    site = SiteFactory()
    sent = chest_radiograph(chest_pixels)
    first = receive(sent, site=site, via=DicomOrigin.Via.C_STORE)
    again = receive(sent, site=site, via=DicomOrigin.Via.STOW_RS)
    assert not again.created and again.scan.pk == first.scan.pk
    assert Scan.objects.count() == 1


def test_two_sites_sending_the_same_instance_each_get_their_own_scan(chest_pixels):
    sent = chest_radiograph(chest_pixels)
    receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE)
    receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE)
    assert Scan.objects.count() == 2


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (ct_slice, "not a chest X-ray"),
        (multi_frame, "several frames"),
        (lambda pixels: chest_radiograph(pixels, BodyPartExamined="KNEE"), "not the chest"),
        (lambda pixels: chest_radiograph(pixels, ViewPosition="LL"), "lateral"),
    ],
    ids=["ct", "multi-frame", "knee", "lateral"],
)
def test_what_is_not_a_frontal_chest_radiograph_is_refused_with_the_reason(chest_pixels, make, reason, caplog):
    with pytest.raises(Refused) as refusal:
        receive(make(chest_pixels), site=SiteFactory(), via=DicomOrigin.Via.C_STORE)
    assert reason in refusal.value.reason and refusal.value.status == 0xC000
    assert reason in caplog.text
    assert not Scan.objects.exists() and not DicomOrigin.objects.exists()


def test_bytes_that_are_not_dicom_are_refused():
    with pytest.raises(Refused, match="damaged"):
        receive(b"\x00" * 200 + b"not dicom", site=SiteFactory(), via=DicomOrigin.Via.STOW_RS)


def test_only_a_known_calling_ae_title_of_an_active_site_finds_its_site():
    site = SiteFactory(ae_titles=["CR_ROOM_1"])
    SiteFactory(ae_titles=["CLOSED_WARD"], is_active=False)
    assert site_for_calling_ae("CR_ROOM_1") == site
    assert site_for_calling_ae("CR_ROOM_1  ") == site  # AE titles are space-padded on the wire
    assert site_for_calling_ae("SOMEONE_ELSE") is None
    assert site_for_calling_ae("CLOSED_WARD") is None


def test_an_ae_title_bound_to_an_address_is_refused_from_any_other():
    site = SiteFactory()
    SiteAETitleFactory(site=site, ae_title="CR_ROOM_2", host="10.0.0.7")
    assert site_for_calling_ae("CR_ROOM_2", "10.0.0.7") == site
    assert site_for_calling_ae("CR_ROOM_2", "10.0.0.8") is None
