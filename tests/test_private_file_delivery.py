"""Stored files reach the one user allowed them: from S3, by a redirect to a link the bucket honours for
PRIVATE_FILE_URL_SECONDS; from local storage, streamed by the portal.

The bucket is moto's S3 server on a loopback port, reached by the portal at 127.0.0.1 (the internal
endpoint, like http://minio:9000) and by the "browser" at localhost (the public endpoint), through the
real django-storages storage the settings configure. moto serves signed GETs but checks neither the
signature nor the expiry of a link, so the tests check those themselves: the signature is recomputed
as S3 does, and the expiry is read from the link.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import boto3
import pytest
import requests
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from moto.server import ThreadedMotoServer

from exports.models import DataExport
from portal.settings.base import bucket_origin, s3_storage
from portal.storage import PrivateS3Storage
from tests import tiers
from tests.api_helpers import token_client
from tests.factories import (
    DICOM_STAND_IN,
    GREY_PNG,
    HEATMAP_PNG,
    PredictionFactory,
    UserFactory,
    private_media,  # noqa: F401
)

REPO_DIR = Path(__file__).resolve().parent.parent
ACCESS_KEY, SECRET_KEY, REGION = "portal-test", "portal-test-secret", "us-east-1"


@dataclass
class Bucket:
    name: str
    internal_url: str  # where the portal stores and checks files
    public_url: str  # where the browser is sent


@pytest.fixture(scope="session")
def s3_server_port():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server.get_host_and_port()[1]
    server.stop()


@pytest.fixture
def bucket(settings, s3_server_port) -> Bucket:
    """A fresh private bucket, and the portal's default storage on it, configured as in production."""
    port = s3_server_port
    bucket = Bucket(f"scans-{uuid.uuid4().hex[:12]}", f"http://127.0.0.1:{port}", f"http://localhost:{port}")
    s3_client(bucket.internal_url).create_bucket(Bucket=bucket.name)
    storage = s3_storage(bucket.name, bucket.internal_url, bucket.public_url, REGION)
    storage["OPTIONS"].update(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    return bucket


def s3_client(endpoint_url: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def link_parameters(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def signature_is_valid(url: str) -> bool:
    """Recompute the link's SigV4 query signature as S3 does, for the host the link names."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    given = dict(pairs)
    unsigned = [(key, value) for key, value in pairs if key != "X-Amz-Signature"]
    request = AWSRequest(method="GET", url=urlunsplit(parts._replace(query=urlencode(unsigned, quote_via=quote))))
    request.context["timestamp"] = given["X-Amz-Date"]
    auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION, expires=int(given["X-Amz-Expires"]))
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return expected == given["X-Amz-Signature"]


FILES = [
    ("scans:image", GREY_PNG, "image/png", 'inline; filename="scan-{pk}.png"'),
    ("scans:heatmap", HEATMAP_PNG, "image/png", 'inline; filename="scan-{pk}-heatmap.png"'),
    ("scans:dicom", DICOM_STAND_IN, "application/dicom", 'inline; filename="scan-{pk}-deidentified.dcm"'),
]


@pytest.mark.parametrize(("url_name", "content", "content_type", "disposition"), FILES)
def test_the_owner_is_redirected_to_a_link_on_the_public_endpoint_that_serves_the_file(
    client, db, bucket, url_name, content, content_type, disposition
):
    scan = PredictionFactory(scan__dicom=True).scan
    client.force_login(scan.owner)

    response = client.get(reverse(url_name, args=[scan.pk]))

    assert response.status_code == 302
    link = response["Location"]
    assert link.startswith(f"{bucket.public_url}/{bucket.name}/")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert link_parameters(link)["X-Amz-Expires"] == str(settings.PRIVATE_FILE_URL_SECONDS) == "60"
    followed = requests.get(link, timeout=10)
    assert followed.status_code == 200
    assert followed.content == content
    assert followed.headers["Content-Type"] == content_type
    assert followed.headers["Content-Disposition"] == disposition.format(pk=scan.pk)
    assert followed.headers["Cache-Control"] == "private, no-store"


def test_the_link_is_signed_for_the_host_the_browser_uses(client, db, bucket):
    scan = PredictionFactory().scan
    client.force_login(scan.owner)

    link = client.get(reverse("scans:image", args=[scan.pk]))["Location"]

    assert signature_is_valid(link)
    # The check can fail: the same link pointed at the portal's own address of the bucket does.
    assert not signature_is_valid(link.replace(bucket.public_url, bucket.internal_url))


@pytest.mark.parametrize("url_name", ["scans:image", "scans:heatmap", "scans:dicom"])
def test_a_stranger_gets_a_404_and_no_link(client, db, bucket, url_name):
    scan = PredictionFactory(scan__dicom=True).scan
    client.force_login(UserFactory())

    response = client.get(reverse(url_name, args=[scan.pk]))

    assert response.status_code == 404
    assert "Location" not in response
    assert "X-Amz-" not in response.content.decode() and bucket.name not in response.content.decode()


def test_a_file_missing_from_the_bucket_is_the_portals_404(client, db, bucket):
    scan = PredictionFactory().scan
    s3_client(bucket.internal_url).delete_object(Bucket=bucket.name, Key=scan.image.name)
    client.force_login(scan.owner)

    response = client.get(reverse("scans:image", args=[scan.pk]))

    assert response.status_code == 404
    assert "Location" not in response


def test_the_link_lasts_private_file_url_seconds_from_when_it_was_made(client, db, bucket, settings):
    settings.PRIVATE_FILE_URL_SECONDS = 1
    scan = PredictionFactory().scan
    client.force_login(scan.owner)

    link = client.get(reverse("scans:image", args=[scan.pk]))["Location"]

    # moto does not refuse an expired link (S3 and MinIO do), so the expiry is read, not waited for.
    parameters = link_parameters(link)
    signed_at = datetime.strptime(parameters["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert parameters["X-Amz-Expires"] == "1"
    assert abs((timezone.now() - signed_at).total_seconds()) < 5
    assert signature_is_valid(link)  # the lifetime is part of what is signed


def test_the_api_redirects_its_token_holder_the_same_way(db, bucket):
    scan = PredictionFactory(scan__dicom=True).scan
    api = token_client(scan.owner)

    response = api.get(reverse("api:scan-dicom", args=[scan.pk]))

    assert response.status_code == 302
    followed = requests.get(response["Location"], timeout=10)
    assert followed.content == DICOM_STAND_IN
    assert followed.headers["Content-Type"] == "application/dicom"


def test_a_data_export_is_signed_to_download_as_an_attachment(client, db, bucket):
    patient = UserFactory()
    export = DataExport.objects.create(
        owner=patient, status=DataExport.Status.READY, ready_at=timezone.now(), size_bytes=4,
        file=ContentFile(b"PK\x05\x06", name="export.zip"),
    )  # fmt: skip
    client.force_login(patient)

    response = client.get(export.get_download_url())

    assert response.status_code == 302
    followed = requests.get(response["Location"], timeout=10)
    assert followed.content == b"PK\x05\x06"
    assert followed.headers["Content-Type"] == "application/zip"
    day = timezone.localtime(export.ready_at).strftime("%Y-%m-%d")
    assert followed.headers["Content-Disposition"] == f'attachment; filename="pneumonia-screening-data-{day}.zip"'


def test_local_storage_streams_the_file_through_the_portal(client, db):
    scan = PredictionFactory(scan__dicom=True).scan
    client.force_login(scan.owner)

    response = client.get(reverse("scans:dicom", args=[scan.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == DICOM_STAND_IN
    assert response["Content-Disposition"] == f'inline; filename="scan-{scan.pk}-deidentified.dcm"'
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("endpoint_url", "public_endpoint_url", "region"),
    [
        ("http://minio:9000", "http://localhost:9000", "us-east-1"),
        ("http://minio:9000", None, "us-east-1"),
        (None, None, "eu-west-2"),
    ],
)
def test_links_point_at_the_origin_the_csp_allows(endpoint_url, public_endpoint_url, region):
    options = s3_storage("scans", endpoint_url, public_endpoint_url, region)["OPTIONS"]
    storage = PrivateS3Storage(**options, access_key=ACCESS_KEY, secret_key=SECRET_KEY)

    link = urlsplit(storage.signed_download_url("scans/x.png", {"Content-Type": "image/png"}, 60))

    assert f"{link.scheme}://{link.netloc}" == bucket_origin("scans", public_endpoint_url or endpoint_url)


@pytest.mark.processes
def test_the_csp_lets_images_come_from_the_bucket_only_when_one_is_configured():
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "AWS_STORAGE_BUCKET_NAME": "scans",
        "AWS_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_S3_PUBLIC_ENDPOINT_URL": "http://localhost:9000",
    }
    tiers.requires("processes", "a Python process with the bucket's settings")
    program = "import django, json; django.setup(); from django.conf import settings; "
    program += "print(json.dumps(settings.SECURE_CSP))"
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_DIR, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr

    assert json.loads(result.stdout)["img-src"] == [CSP.SELF, "data:", "http://localhost:9000"]
    assert settings.SECURE_CSP["img-src"] == [CSP.SELF, "data:"]  # these tests' settings: no bucket
