"""Each user's hourly upload allowance, in files and bytes, web and API together."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from scans.models import Scan
from tests.api_helpers import token_client
from tests.factories import UserFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db
UPLOAD_URL = reverse("scans:upload")


@pytest.fixture
def xray(xray_bytes):
    return xray_bytes


@pytest.fixture
def patient_client(client):
    client.force_login(UserFactory())
    return client


def upload(client, data: bytes, count: int):
    files = [SimpleUploadedFile(f"chest-{n}.jpeg", data) for n in range(count)]
    return client.post(UPLOAD_URL, {"files": files})


def test_files_past_the_hourly_allowance_are_refused_with_when_to_try_again(patient_client, settings, xray):
    settings.SCAN_UPLOADS_PER_HOUR = 2
    page = upload(patient_client, xray, 3).content.decode()
    assert Scan.objects.count() == 2
    assert "the most we accept per hour (2 files" in page and "upload it again after" in page


def test_bytes_past_the_hourly_allowance_are_refused(patient_client, settings, xray):
    settings.SCAN_UPLOAD_BYTES_PER_HOUR = len(xray) + 10
    upload(patient_client, xray, 1)
    page = upload(patient_client, xray, 1).content.decode()
    assert Scan.objects.count() == 1
    assert "the most we accept per hour" in page


def test_the_allowance_comes_back_an_hour_later(patient_client, settings, xray):
    settings.SCAN_UPLOADS_PER_HOUR = 1
    upload(patient_client, xray, 1)
    Scan.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert upload(patient_client, xray, 1).status_code == 302
    assert Scan.objects.count() == 2


def test_another_users_uploads_do_not_count(client, settings, xray):
    settings.SCAN_UPLOADS_PER_HOUR = 1
    client.force_login(UserFactory())
    upload(client, xray, 1)
    client.force_login(UserFactory())
    assert upload(client, xray, 1).status_code == 302


def test_the_api_answers_429_with_retry_after_and_shares_the_web_allowance(client, settings, xray):
    settings.SCAN_UPLOADS_PER_HOUR = 1
    user = UserFactory()
    client.force_login(user)
    upload(client, xray, 1)
    response = token_client(user).post(
        reverse("api:scans"), {"image": SimpleUploadedFile("chest.jpeg", xray)}, format="multipart"
    )
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert "the most we accept per hour" in response.json()["detail"]
    assert Scan.objects.count() == 1
