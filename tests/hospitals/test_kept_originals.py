"""The original identifiers kept for a site's study (DicomOrigin) are readable text whatever VR they came
in: decoded by the instance's character set, UN included, and cut to their VR's length with a marker."""

from __future__ import annotations

import io

import pydicom
import pytest
from pydicom.dataelem import DataElement
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from hospitals.intake import Refused, receive
from hospitals.models import DicomOrigin
from tests.factories import SiteFactory, private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph

pytestmark = pytest.mark.django_db

NAME = "Müller^Jürgen "  # UTF-8 (ISO_IR 192): a Latin-1 or byte-by-byte reading would garble the umlauts
TEN_MB_NAME = NAME * (10_000_000 // len(NAME.encode()))
PN_GROUP_CHARS = 64  # PS3.5 Table 6.2-1: a person name's component group


def resent_with(data: bytes, syntax: str, **elements: tuple[str, bytes | str]) -> bytes:
    """The instance with these attributes (keyword: (VR, value)) in UTF-8, written in that transfer syntax."""
    dataset = pydicom.dcmread(io.BytesIO(data))
    dataset.SpecificCharacterSet = "ISO_IR 192"
    for keyword, (vr, value) in elements.items():
        tag = pydicom.datadict.tag_for_keyword(keyword)
        dataset[tag] = DataElement(tag, vr, value)
    dataset.file_meta.TransferSyntaxUID = syntax
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "syntax, vr, value",
    [
        # UN has a 32-bit length, and pydicom keeps a UN value over 64 KB as bytes
        (ExplicitVRLittleEndian, "UN", TEN_MB_NAME.encode()),
        # explicit PN has a 16-bit length: a 10 MB PN needs implicit VR, where the dictionary says PN
        (ImplicitVRLittleEndian, "PN", TEN_MB_NAME),
    ],
    ids=["UN", "PN"],
)
def test_a_ten_megabyte_patient_name_is_kept_as_readable_text_cut_to_its_vr(chest_pixels, syntax, vr, value):
    sent = resent_with(chest_radiograph(chest_pixels), syntax, PatientName=(vr, value))

    origin = receive(sent, site=SiteFactory(), via=DicomOrigin.Via.STOW_RS).origin

    origin.refresh_from_db()
    assert origin.patient_name == TEN_MB_NAME[: PN_GROUP_CHARS - 1] + "…"
    assert len(origin.patient_name) == PN_GROUP_CHARS <= DicomOrigin._meta.get_field("patient_name").max_length
    assert "b'" not in origin.patient_name and "Müller^Jürgen" in origin.patient_name


def test_every_component_group_of_a_name_is_cut_to_its_length(chest_pixels):
    alphabetic, ideographic = "A" * 100, "山田^太郎"
    sent = resent_with(
        chest_radiograph(chest_pixels),
        ExplicitVRLittleEndian,
        PatientName=("UN", f"{alphabetic}={ideographic}".encode()),
    )

    origin = receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE).origin

    assert origin.patient_name == "A" * 63 + "…=" + ideographic


def test_short_values_sent_as_un_are_kept_as_they_were_written(chest_pixels):
    sent = resent_with(
        chest_radiograph(chest_pixels),
        ExplicitVRLittleEndian,
        PatientID=("UN", "MRN-Ø4711".encode()),
        AccessionNumber=("UN", b"ACC-12345678901234567890"),  # SH: 16 characters
        ReferringPhysicianName=("UN", "Šimek^Ana".encode()),
    )

    origin = receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE).origin

    assert origin.patient_id == "MRN-Ø4711"
    assert origin.accession_number == "ACC-12345678901…" and len(origin.accession_number) == 16
    assert origin.referring_physician_name == "Šimek^Ana"


def test_a_uid_longer_than_a_uid_may_be_is_refused_not_cut(chest_pixels):
    sent = resent_with(
        chest_radiograph(chest_pixels), ExplicitVRLittleEndian, StudyInstanceUID=("UN", b"1.2." + b"3" * 70_000)
    )

    with pytest.raises(Refused, match="longer than a UID"):
        receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE)
    assert not DicomOrigin.objects.exists()


def test_the_de_identified_copy_drops_a_long_name_sent_as_un_whatever_attribute_holds_it(chest_pixels):
    name = ("Doe^Jane " * 10_000).encode()  # over 64 KB: pydicom keeps it UN
    sent = resent_with(
        chest_radiograph(chest_pixels),
        ExplicitVRLittleEndian,
        PatientName=("UN", name),
        ConsultingPhysicianName=("UN", name),  # a PN that no list of the profile names
    )

    scan = receive(sent, site=SiteFactory(), via=DicomOrigin.Via.C_STORE).scan

    with scan.dicom_file.open("rb") as stored:
        copy = pydicom.dcmread(stored)
    assert "ConsultingPhysicianName" not in copy and str(copy.PatientName) == ""
    assert b"Doe^Jane" not in scan.dicom_file.open("rb").read()
