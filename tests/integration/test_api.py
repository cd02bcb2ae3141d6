"""A client that knows only the OpenAPI schema uploads a JPEG and a DICOM, polls to the result with a real
Celery worker reading them, and fetches the PDF report: the path the curl commands of docs/api.md take."""

import time

import numpy as np
import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from tests.ml.dicom_files import identifying_dicom_bytes

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASSWORD = "a-long-test-password-4711"
SCHEMA_URL = "/api/v1/schema/"


def operation_path(schema: dict, operation_id: str) -> str:
    """The path of an operation, found in the schema as a generated client would."""
    for path, operations in schema["paths"].items():
        if any(operation.get("operationId") == operation_id for operation in operations.values()):
            return path
    raise AssertionError(f"{operation_id} is not in the schema")


@pytest.fixture
def schema(transactional_db):
    response = APIClient().get(SCHEMA_URL, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def api(schema):
    """A client holding a token it asked for with the patient's email and password."""
    patient = User.objects.create_user("patient@example.com", PASSWORD)
    EmailAddress.objects.create(user=patient, email=patient.email, verified=True, primary=True)
    client = APIClient()
    response = client.post(
        operation_path(schema, "auth_token_create"), {"email": patient.email, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 201, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def poll_until_finished(api, url: str, timeout: float = 60.0) -> dict:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        body = api.get(url).json()
        if body["status"] not in ("queued", "processing"):
            return body
        time.sleep(0.2)
    pytest.fail(f"{url} still {body['status']} after {timeout:.0f}s")


def test_a_jpeg_and_a_dicom_uploaded_over_the_api_are_read_and_reported(
    api, schema, celery_worker_process, xray_bytes, xray_path, record_timing
):
    grey = np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)
    uploads = {"chest.jpeg": xray_bytes, "chest.dcm": identifying_dicom_bytes(grey * 16, bits_stored=12)}
    readings = {}
    for name, data in uploads.items():
        started = time.monotonic()
        created = api.post(
            operation_path(schema, "scans_create"), {"image": SimpleUploadedFile(name, data)}, format="multipart"
        )
        assert created.status_code == 201, created.content
        body = poll_until_finished(api, created.json()["links"]["self"])
        record_timing(f"API upload {name} -> {body['status']}", time.monotonic() - started)

        assert body["status"] == "done", body["status_reason"]
        assert body["prediction"]["model_version"]
        report = api.get(body["links"]["report"], HTTP_ACCEPT="application/pdf")
        assert report["Content-Type"] == "application/pdf"
        assert b"".join(report.streaming_content).startswith(b"%PDF")
        readings[name] = body["prediction"]["probability"]

    # The same radiograph, as JPEG and as 12-bit DICOM: the model must read it the same way.
    assert readings["chest.dcm"] == pytest.approx(readings["chest.jpeg"], abs=0.02)
