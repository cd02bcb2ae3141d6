"""The scans API: upload with the web form's validation, poll the status, read the result, fetch the files."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from audit.models import AuditEvent
from scans.models import Scan
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import PredictionFactory, ReviewFactory, ScanFactory, UserFactory, private_media  # noqa: F401
from tests.ml.dicom_files import identifying_dicom_bytes

SCANS_URL = reverse("api:scans")


@pytest.fixture
def patient(db):
    return UserFactory()


@pytest.fixture
def api(patient):
    return token_client(patient)


def scan_url(scan, name="scan"):
    return reverse(f"api:{name}", args=[scan.pk])


def upload(api, name: str, data: bytes):
    return api.post(SCANS_URL, {"image": SimpleUploadedFile(name, data)}, format="multipart")


def test_uploading_a_jpeg_queues_a_scan(api, patient, xray_bytes, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(api, "chest.jpeg", xray_bytes)

    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    scan = Scan.objects.get(pk=response.json()["id"], owner=patient)
    assert scan.source_format == "JPEG"
    assert len(callbacks) == 1  # the task is sent once the row is committed, as for the web form


def test_uploading_a_dicom_stores_the_deidentified_copy(api, xray_path):
    grey = np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)

    response = upload(api, "chest.dcm", identifying_dicom_bytes(grey * 16, "MONOCHROME2", 12))

    body = response.json()
    assert response.status_code == 201
    assert body["source_format"] == "DICOM"
    assert body["dicom"]["kept"]["ViewPosition"] == "PA"
    assert "InstitutionName" in body["dicom"]["removed"]
    assert body["links"]["dicom"].endswith(reverse("api:scan-dicom", args=[body["id"]]))
    assert "Doe^Jane" not in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"just some text, not a picture", "not a JPEG, PNG or DICOM image"),
    ],
)
def test_bad_files_get_the_web_forms_message_for_the_field(api, data, message):
    response = upload(api, "chest.jpeg", data)

    assert response.status_code == 400
    assert message in response.json()["image"][0]
    assert not Scan.objects.exists()


def test_a_request_without_a_file_is_told_which_field_is_missing(api):
    response = api.post(SCANS_URL, {}, format="multipart")

    assert response.status_code == 400
    assert list(response.json()) == ["image"]


def test_a_file_over_the_limit_is_refused_with_the_limit(api, settings, xray_bytes):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024

    response = upload(api, "chest.jpeg", xray_bytes)

    assert response.status_code == 400
    assert "the limit is 1 KB" in response.json()["image"][0]


def test_the_list_holds_only_the_users_own_scans_newest_first(api, patient):
    older, newer = ScanFactory(owner=patient), ScanFactory(owner=patient)
    ScanFactory()  # another patient's

    body = api.get(SCANS_URL).json()

    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [newer.pk, older.pk]


def test_the_list_is_paginated(api, patient, settings):
    page_size = settings.REST_FRAMEWORK["PAGE_SIZE"]
    ScanFactory.create_batch(page_size + 1, owner=patient)

    first = api.get(SCANS_URL).json()

    assert len(first["results"]) == page_size and first["next"]
    assert len(api.get(first["next"]).json()["results"]) == 1


@pytest.mark.parametrize("status", ["queued", "processing", "failed", "rejected"])
def test_an_unfinished_or_unread_scan_has_its_status_and_no_reading(api, patient, status):
    scan = ScanFactory(owner=patient, status=status, status_reason="Not a chest X-ray." if status == "rejected" else "")

    body = api.get(scan_url(scan)).json()

    assert body["status"] == status
    assert body["prediction"] is None
    assert body["status_reason"] == scan.status_reason


def test_a_finished_scan_has_the_reading_and_the_links(api, patient):
    prediction = PredictionFactory(scan__owner=patient)

    body = api.get(scan_url(prediction.scan)).json()

    assert body["status"] == "done"
    assert body["prediction"] == {
        "probability": 0.82,
        "label": "pneumonia",
        "needs_review": True,
        "indeterminate": False,
        "model_version": prediction.model_version,
        "created_at": body["prediction"]["created_at"],
    }
    assert body["review"] is None
    for link in ("image", "heatmap", "report"):
        assert body["links"][link] == f"http://testserver{scan_url(prediction.scan, 'scan-' + link)}"
    assert body["links"]["dicom"] is None


def test_the_review_is_shown_without_the_internal_note(api, patient):
    review = ReviewFactory(prediction__scan__owner=patient, internal_note="RLL consolidation, check old films.")

    response = api.get(scan_url(review.scan))

    assert response.json()["review"]["finding"] == "pneumonia"
    assert response.json()["review"]["patient_note"] == review.patient_note
    assert "internal_note" not in response.json()["review"]
    assert "check old films" not in response.content.decode()


def test_a_reading_held_for_review_is_not_shown(api, patient, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    scan = PredictionFactory(scan__owner=patient).scan

    body = api.get(scan_url(scan)).json()

    assert body["prediction"] is None and body["links"]["heatmap"] is None
    assert api.get(scan_url(scan, "scan-heatmap")).status_code == 404


def test_the_owner_deletes_a_scan_with_its_files(api, patient, django_capture_on_commit_callbacks):
    prediction = PredictionFactory(scan__owner=patient)
    scan = prediction.scan
    storage, names = scan.image.storage, [scan.image.name, prediction.heatmap.name]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(scan_url(scan))

    assert response.status_code == 204
    assert not Scan.objects.filter(pk=scan.pk).exists()
    assert not any(storage.exists(name) for name in names)


@pytest.mark.parametrize(("name", "content_type", "magic"), [
    ("scan-image", "image/png", b"\x89PNG"),
    ("scan-heatmap", "image/png", b"\x89PNG"),
    ("scan-report", "application/pdf", b"%PDF"),
])  # fmt: skip
def test_the_files_are_served_to_the_owner_and_never_cached(api, patient, name, content_type, magic):
    scan = PredictionFactory(scan__owner=patient).scan

    response = api.get(scan_url(scan, name), HTTP_ACCEPT=content_type)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content).startswith(magic)


def test_the_deidentified_dicom_is_served_to_the_owner(api, patient):
    scan = ScanFactory(owner=patient, dicom=True)

    response = api.get(scan_url(scan, "scan-dicom"))

    assert response["Content-Type"] == "application/dicom"
    assert b"".join(response.streaming_content)[128:132] == b"DICM"


def test_a_missing_file_is_a_json_404_whatever_the_client_accepts(api, patient):
    scan = ScanFactory(owner=patient)

    response = api.get(scan_url(scan, "scan-dicom"), HTTP_ACCEPT="application/dicom")

    assert response.status_code == 404
    assert response.json() == {"detail": "This X-ray was not uploaded as DICOM."}


def test_api_reads_and_downloads_are_audited(api, patient):
    scan = ReviewFactory(prediction__scan__owner=patient).scan

    api.get(scan_url(scan))
    api.get(scan_url(scan, "scan-report"))

    events = AuditEvent.objects.filter(actor=patient, scan_id=scan.pk)
    assert set(events.values_list("action", "object_type")) == {
        ("viewed", "scan"),
        ("viewed", "review"),
        ("downloaded", "scan"),
    }
    assert events.filter(path=scan_url(scan, "scan-report"), detail="api: report").exists()


def test_a_refused_read_is_audited(api, patient):
    scan = ScanFactory()

    assert api.get(scan_url(scan)).status_code == 404

    assert AuditEvent.objects.filter(actor=patient, action="refused", scan_id=scan.pk).exists()


def test_an_id_no_database_could_hold_is_a_plain_404_on_the_api_and_the_web(api, client, patient):
    client.force_login(patient)

    assert api.get(f"{SCANS_URL}{2**70}/").status_code == 404
    assert client.get(reverse("scans:detail", args=[2**70])).status_code == 404
    assert AuditEvent.objects.filter(action="refused", object_id=None, detail__contains="out of range").count() == 2


def test_the_report_is_a_pdf_with_both_thumbnails(api, patient):
    scan = PredictionFactory(scan__owner=patient).scan

    pdf = b"".join(api.get(scan_url(scan, "scan-report")).streaming_content)

    assert pdf.count(b"/Subtype /Image") == 2
