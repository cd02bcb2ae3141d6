"""An X-ray uploaded over HTTP is read by a real Celery worker process: the path production takes.

Web and worker share only the database, the broker and the file storage, as in a deployment; nothing
here runs the task in-process. Timings are printed for the record, never asserted.
"""

import time

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from accounts.models import User
from scans.models import Prediction, Scan

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORD = "a-long-test-password-4711"


@pytest.fixture
def patient_client(client, transactional_db):
    """A client logged in as a verified patient through the real login form."""
    patient = User.objects.create_user("patient@example.com", PASSWORD)
    EmailAddress.objects.create(user=patient, email=patient.email, verified=True, primary=True)
    response = client.post(reverse("account_login"), {"login": patient.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    client.patient = patient
    return client


def upload(client, name: str, data: bytes) -> Scan:
    response = client.post(reverse("scans:upload"), {"files": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:2000]
    scan = Scan.objects.get(owner=client.patient, original_filename=name)
    assert response["Location"] == scan.get_absolute_url()  # one file: its own page
    return scan


def test_an_uploaded_xray_gets_one_prediction_with_a_heatmap(
    patient_client, celery_worker_process, xray_bytes, wait_for_scan, record_timing
):
    started = time.monotonic()
    scan = upload(patient_client, "chest.jpeg", xray_bytes)
    scan = wait_for_scan(scan, timeout=60)
    record_timing(f"upload -> {scan.status}", time.monotonic() - started)

    assert scan.status == Scan.Status.DONE, scan.status_reason
    prediction = Prediction.objects.get(scan=scan)
    assert 0.0 <= prediction.probability <= 1.0
    assert prediction.label in Prediction.Label.values
    assert prediction.model_version
    assert prediction.heatmap.storage.exists(prediction.heatmap.name)
    print(f"model {prediction.model_version}: {prediction}, inference {prediction.inference_ms:.0f} ms")

    detail = patient_client.get(scan.get_absolute_url())
    assert escape(prediction.display_percent) in detail.content.decode()
    heatmap = patient_client.get(reverse("scans:heatmap", args=[scan.pk]))
    assert heatmap.status_code == 200
    assert b"".join(heatmap.streaming_content).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("picture", "filename"), [("document_bytes", "letter.png"), ("colour_photo_bytes", "holiday.jpg")]
)
def test_a_picture_that_is_not_an_xray_is_rejected_with_a_reason(
    patient_client, celery_worker_process, wait_for_scan, picture, filename, request, record_timing
):
    started = time.monotonic()
    scan = upload(patient_client, filename, request.getfixturevalue(picture))
    scan = wait_for_scan(scan, timeout=60)
    record_timing(f"upload -> {scan.status}", time.monotonic() - started)

    assert scan.status == Scan.Status.REJECTED
    assert "X-ray" in scan.status_reason
    assert not scan.predictions.exists()
