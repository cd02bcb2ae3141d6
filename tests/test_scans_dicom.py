"""DICOM uploads through the web form: the model gets the pixels, storage gets a de-identified copy only,
and the patient sees what was kept and what was removed."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pydicom import dcmread

from ml.preprocessing import preprocess
from scans.models import Scan
from tests.factories import ScanFactory, UserFactory, private_media  # noqa: F401
from tests.ml.dicom_files import identifying_dicom_bytes, identifying_strings

TOLERANCE = 0.01
# Each way an X-ray system may write the same radiograph: all must reach the model as the JPEG does.
ENCODINGS = {
    "MONOCHROME2 8-bit": lambda g: identifying_dicom_bytes(g, bits_stored=8),
    "MONOCHROME2 12-bit": lambda g: identifying_dicom_bytes(g * 16, bits_stored=12),
    "MONOCHROME2 16-bit": lambda g: identifying_dicom_bytes(g * 257, bits_stored=16),
    "MONOCHROME1 12-bit": lambda g: identifying_dicom_bytes((255 - g) * 16, "MONOCHROME1", bits_stored=12),
    "MONOCHROME1 16-bit": lambda g: identifying_dicom_bytes((255 - g) * 257, "MONOCHROME1"),
    "12-bit, full VOI window": lambda g: identifying_dicom_bytes(
        g * 16, bits_stored=12, WindowCenter=2048, WindowWidth=4096
    ),
}


@pytest.fixture(scope="module")
def grey(xray_path) -> np.ndarray:
    return np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)


@pytest.fixture
def patient(client, db):
    user = UserFactory()
    client.force_login(user)
    return user


def upload(client, data: bytes, name: str = "chest.dcm") -> Scan:
    response = client.post(reverse("scans:upload"), {"files": [SimpleUploadedFile(name, data)]})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Scan.objects.get(original_filename=name)


def stored_files():
    """Every file in this test's storage (private_media gives each test its own folder)."""
    return [path for path in Path(default_storage.location).rglob("*") if path.is_file()]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_dicom_reaches_the_model_like_the_same_xray_as_jpeg(client, patient, grey, xray_path, encoding):
    scan = upload(client, ENCODINGS[encoding](grey))

    with scan.image.open("rb") as stored:
        model_input = preprocess(stored.read())  # what the worker reads: the stored PNG

    assert scan.source_format == "DICOM"
    assert np.abs(model_input - preprocess(xray_path)).mean() < TOLERANCE


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_no_identifier_survives_anywhere_in_storage(client, patient, grey, encoding):
    data = ENCODINGS[encoding](grey)

    upload(client, data)

    files = stored_files()
    assert len(files) == 2  # the PNG and the de-identified DICOM
    leaks = [(path.name, value) for path in files for value in identifying_strings(data) if value in path.read_bytes()]
    assert leaks == []


def test_a_dicom_is_recognised_by_content_whatever_its_name(client, patient, grey):
    scan = upload(client, identifying_dicom_bytes(grey, bits_stored=8), name="chest.jpg")

    assert scan.source_format == "DICOM"
    assert scan.dicom_file.name.endswith(".dcm")


def test_the_stored_copy_is_marked_deidentified_with_a_generated_name(client, patient, grey):
    scan = upload(client, identifying_dicom_bytes(grey, bits_stored=8), name="Doe_Jane_HOSP-123456.dcm")

    with scan.dicom_file.open("rb") as stored:
        copy = dcmread(io.BytesIO(stored.read()))

    assert copy.PatientIdentityRemoved == "YES"
    assert "Doe" not in scan.dicom_file.name and scan.dicom_file.name.startswith("dicom/")


def test_the_summary_lists_what_was_kept_and_removed_without_values(client, patient, grey):
    data = identifying_dicom_bytes(grey, bits_stored=8)

    scan = upload(client, data)

    assert scan.dicom_summary["kept"] == {
        "Modality": "DX",
        "BodyPartExamined": "CHEST",
        "ViewPosition": "PA",
        "StudyDescription": "CHEST PA",
    }
    assert "InstitutionName" in scan.dicom_summary["removed"]
    assert "PatientName" in scan.dicom_summary["replaced"]
    assert [value for value in identifying_strings(data) if value.decode() in json.dumps(scan.dicom_summary)] == []


def test_the_detail_page_shows_what_was_kept_and_removed(client, patient, grey):
    scan = upload(client, identifying_dicom_bytes(grey, bits_stored=8))

    page = client.get(scan.get_absolute_url()).content.decode()

    assert "Your DICOM file" in page
    assert "<dt>View position</dt><dd>PA</dd>" in page
    assert "<dt>Study description</dt><dd>CHEST PA</dd>" in page
    assert "InstitutionName" in page and "ReferringPhysicianName" in page
    assert reverse("scans:dicom", args=[scan.pk]) in page
    assert "Doe^Jane" not in page and "HOSP-123456" not in page


def test_the_owner_downloads_the_deidentified_copy(client, patient, grey):
    scan = upload(client, identifying_dicom_bytes(grey, bits_stored=8))

    response = client.get(reverse("scans:dicom", args=[scan.pk]))

    data = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/dicom"
    assert response["Cache-Control"] == "private, no-store"
    assert data[128:132] == b"DICM" and b"Doe^Jane" not in data


def test_another_patient_cannot_download_the_dicom(client, db):
    scan = ScanFactory(dicom=True)
    client.force_login(UserFactory())

    assert client.get(reverse("scans:dicom", args=[scan.pk])).status_code == 404


def test_a_scan_uploaded_as_jpeg_has_no_dicom_to_download(client, patient):
    scan = ScanFactory(owner=patient)

    assert client.get(reverse("scans:dicom", args=[scan.pk])).status_code == 404
    assert "Your DICOM file" not in client.get(scan.get_absolute_url()).content.decode()


def test_deleting_a_dicom_scan_deletes_the_copy_too(client, patient, grey, django_capture_on_commit_callbacks):
    scan = upload(client, identifying_dicom_bytes(grey, bits_stored=8))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scans:delete", args=[scan.pk]))

    assert stored_files() == []
