"""De-identifying a DICOM file: no identifier survives, UIDs are remapped consistently, pixels are untouched."""

import io

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread

from ml.deidentify import EMPTIED, REMOVED, deidentify
from ml.errors import UnreadableImage
from ml.preprocessing import decode
from tests.ml.dicom_files import IDENTIFIERS, REFERENCED_UID, identifying_dicom_bytes, identifying_strings

SECRET = "test-uid-secret"


@pytest.fixture(scope="module")
def grey(xray_path) -> np.ndarray:
    return np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)


@pytest.fixture(scope="module")
def original(grey) -> bytes:
    return identifying_dicom_bytes(grey * 16, bits_stored=12)


def read(data: bytes):
    return dcmread(io.BytesIO(data))


@pytest.mark.parametrize(
    "name, make",
    [
        ("MONOCHROME2 8-bit", lambda g: identifying_dicom_bytes(g, bits_stored=8)),
        ("MONOCHROME2 12-bit", lambda g: identifying_dicom_bytes(g * 16, bits_stored=12)),
        ("MONOCHROME1 16-bit", lambda g: identifying_dicom_bytes((255 - g) * 257, "MONOCHROME1")),
        (
            "VOI LUT window",
            lambda g: identifying_dicom_bytes(g * 16, bits_stored=12, WindowCenter=1500, WindowWidth=2000),
        ),
    ],
)
def test_no_identifying_value_survives_in_the_bytes(grey, name, make):
    data = make(grey)

    copy = deidentify(data, SECRET).data

    assert all(value in data for value in identifying_strings(data))  # the test would catch a leak
    assert [value for value in identifying_strings(data) if value in copy] == []


def test_the_copy_says_it_is_deidentified_and_by_which_profile(original):
    copy = read(deidentify(original, SECRET).data)

    assert copy.PatientIdentityRemoved == "YES"
    assert "Annex E" in copy.DeidentificationMethod
    assert copy.DeidentificationMethodCodeSequence[0].CodeValue == "113100"


def test_the_preamble_is_zeroed(original):
    data = bytearray(original)
    data[:4] = b"MZ\x90\x00"

    copy = deidentify(bytes(data), SECRET).data

    assert copy[:128] == bytes(128)
    assert copy[128:132] == b"DICM"


def test_required_attributes_stay_empty_and_the_others_go(original):
    result = deidentify(original, SECRET)
    copy = read(result.data)

    assert copy.PatientName == "" and copy.PatientID == "" and copy.AccessionNumber == ""
    assert "InstitutionName" not in copy
    assert "PersonName" not in copy.ReferencedImageSequence[0]
    assert {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyInstanceUID"} <= set(
        result.replaced
    )
    assert "InstitutionName" in result.removed
    assert result.private_tags_removed == 3  # the private creator and its two values
    assert not any(element.tag.is_private for element in copy.iterall())


def test_uids_are_remapped_the_same_way_for_every_file_of_a_study(grey):
    first = read(deidentify(identifying_dicom_bytes(grey, bits_stored=8), SECRET).data)
    second = read(deidentify(identifying_dicom_bytes(grey, bits_stored=8), SECRET).data)
    other_secret = read(deidentify(identifying_dicom_bytes(grey, bits_stored=8), "another secret").data)

    assert first.StudyInstanceUID == second.StudyInstanceUID != IDENTIFIERS["StudyInstanceUID"]
    assert first.StudyInstanceUID != other_secret.StudyInstanceUID
    assert first.SOPInstanceUID != second.SOPInstanceUID  # two images, two instances
    assert first.SOPInstanceUID == first.file_meta.MediaStorageSOPInstanceUID
    assert first.ReferencedImageSequence[0].ReferencedSOPInstanceUID not in ("", REFERENCED_UID)


def test_standard_uids_are_kept(original):
    copy = read(deidentify(original, SECRET).data)

    assert copy.SOPClassUID == read(original).SOPClassUID
    assert copy.file_meta.TransferSyntaxUID == read(original).file_meta.TransferSyntaxUID


def test_the_examination_is_kept_and_shown(original):
    result = deidentify(original, SECRET)

    assert result.kept == {
        "Modality": "DX",
        "BodyPartExamined": "CHEST",
        "ViewPosition": "PA",
        "StudyDescription": "CHEST PA",
    }
    assert set(result.summary()) == {"kept", "removed", "replaced", "private_tags_removed", "method"}


def test_a_study_description_naming_the_patient_is_removed(grey):
    data = identifying_dicom_bytes(grey, bits_stored=8, StudyDescription="Chest PA for JANE DOE")

    result = deidentify(data, SECRET)

    assert "StudyDescription" not in result.kept
    assert "StudyDescription" in result.removed
    assert b"JANE DOE" not in result.data


def test_the_pixels_reach_the_model_unchanged(grey, original):
    copy = deidentify(original, SECRET).data

    assert np.array_equal(decode(copy).grey, decode(original).grey)


def test_a_damaged_file_is_refused(original):
    with pytest.raises(UnreadableImage):
        deidentify(original[:200], SECRET)


def test_every_attribute_named_in_the_profile_is_a_dicom_keyword():
    from pydicom.datadict import tag_for_keyword

    assert [name for name in EMPTIED | REMOVED if tag_for_keyword(name) is None] == []
