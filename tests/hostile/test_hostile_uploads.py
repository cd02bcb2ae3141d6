"""Every file of the hostile corpus through the upload form (and the REST API): each is refused with a
message the patient can act on, or stored as a clean PNG of the right size; never a server error, never
a file outside the storage root, never the uploaded bytes themselves.

The accepted files go through the real worker in test_hostile_worker.py.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from PIL import Image

from scans.models import Scan
from scans.validation import sanitise_filename
from tests.factories import UserFactory, private_media  # noqa: F401
from tests.hostile.corpus import ACTIONABLE, EITHER, REFUSE, build_corpus, source_xray

CORPUS = build_corpus()
# The clean PNG, the de-identified DICOM, and for a JPEG or PNG the Secondary Capture made for DICOMweb.
STORED_NAME = re.compile(r"^(scans/\d{4}/\d{2}/[0-9a-f]{32}\.png|dicom/\d{4}/\d{2}/[0-9a-f]{32}(-sc)?\.dcm)$")


def _api_available() -> bool:
    try:
        reverse("api:scans")
    except NoReverseMatch:
        return False
    return True


CHANNELS = ["web", "api"] if _api_available() else ["web"]


@pytest.fixture
def upload_temp_dir(settings, tmp_path):
    """Where Django spools large uploads while it reads them: empty again once a request is answered."""
    folder = tmp_path / "upload-temp"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def patient(db):
    return UserFactory()


def send(channel: str, patient, case) -> tuple[int, str]:
    """Upload the case's file; returns the status and the refusal message (empty when accepted)."""
    upload = SimpleUploadedFile(case.filename, case.data, content_type="image/jpeg")
    if channel == "web":
        client = Client(raise_request_exception=False)
        client.force_login(patient)
        response = client.post(reverse("scans:upload"), {"files": [upload]})
        return response.status_code, refusal_on_page(response.content.decode())
    from tests.api_helpers import token_client

    response = token_client(patient).post(reverse("api:scans"), {"image": upload}, format="multipart")
    return response.status_code, " ".join(str(error) for error in _errors(response))


def refusal_on_page(page: str) -> str:
    refused = re.search(r'<ul class="refused">\s*<li><strong>(.*?)</strong>: (.*?)</li>', page, re.DOTALL)
    return f"{html.unescape(refused.group(1))}: {html.unescape(refused.group(2))}" if refused else ""


def _errors(response) -> list:
    if response.status_code >= 500 or response.status_code < 400:
        return []
    body = response.json()
    return [
        message for messages in body.values() for message in (messages if isinstance(messages, list) else [messages])
    ]


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def files_outside(tmp_path: Path, media: Path) -> list[Path]:
    """Files the request left anywhere in the test's folder but the storage root."""
    return [path for path in stored_files(tmp_path) if media not in path.parents]


def files_at_the_names_path(case, roots: list[Path]) -> list[Path]:
    """Had the file name been used as a path under any of these folders, the file would be here."""
    name = case.filename.replace("\\", "/").replace("\x00", "")
    found = []
    for root in roots:
        try:
            candidate = (root / name).resolve()
            if candidate.is_file() and candidate.read_bytes() == case.data:
                found.append(candidate)
        except (OSError, ValueError):  # a name too long or odd to be a path here cannot have been one
            continue
    return found


def grey_of_png(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.mode.startswith("I;16") or image.mode == "I":
        return np.asarray(image, dtype=np.float64) / 65535
    return np.asarray(image.convert("L"), dtype=np.float64) / 255


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", CORPUS, ids=[case.label for case in CORPUS])
def test_a_hostile_file_is_refused_with_a_reason_or_stored_clean(
    channel, case, patient, upload_temp_dir, tmp_path, settings, hostile_tally
):
    media = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    hostile_tally["tried"] += 1
    hostile_tally[f"tried via {channel}"] += 1

    status, refusal = send(channel, patient, case)

    scans = list(Scan.objects.filter(owner=patient))
    stored = stored_files(media)
    outside = files_outside(tmp_path, media) + files_at_the_names_path(
        case, [media, upload_temp_dir, Path.cwd(), Path(settings.VAR_DIR)]
    )
    identical = [path for path in stored if case.hostile and path.read_bytes() == case.data]
    hostile_tally["server_errors"] += status >= 500
    hostile_tally["outside_root"] += len(outside)
    hostile_tally["stored_identical"] += len(identical)
    hostile_tally["accepted" if scans else "refused"] += 1
    hostile_tally["accepted_invalid"] += bool(scans) and case.expect == REFUSE

    assert status < 500
    assert outside == []
    assert identical == []
    if case.expect == REFUSE or (case.expect == EITHER and not scans):
        assert_refused(case, scans, stored, refusal)
    else:
        assert_stored_clean(case, scans, stored)


def assert_refused(case, scans, stored, refusal):
    assert scans == [], f"{case.label} was accepted"
    assert stored == []
    assert refusal, f"{case.label}: no reason given"
    if case.reason:
        assert case.reason in refusal
    assert any(verb in refusal.lower() for verb in ACTIONABLE), f"nothing to do in: {refusal}"
    assert "Traceback" not in refusal


def assert_stored_clean(case, scans, stored):
    assert len(scans) == 1, f"{case.label} was refused"
    scan = scans[0]
    assert scan.status == Scan.Status.QUEUED
    assert scan.original_filename == (case.shown_name or sanitise_filename(case.filename))
    capture = scan.dicom_instance.capture.name if hasattr(scan, "dicom_instance") else ""
    names = [name for name in (scan.image.name, scan.dicom_file.name, capture) if name]
    assert all(STORED_NAME.match(name) for name in names), names
    assert len(stored) == len(names)
    png = scan.image.read()
    scan.image.close()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    if case.hostile:
        assert hashlib.sha256(png).hexdigest() != scan.sha256
    for path in stored:
        if case.payload:
            assert case.payload not in path.read_bytes(), f"{case.label}'s hostile part reached {path.name}"
    if case.size:
        assert (scan.width, scan.height) == case.size
        assert Image.open(io.BytesIO(png)).size == case.size
    if case.same_reading_as_plain:
        assert_same_picture(grey_of_png(png), source_xray() / 255)


def assert_same_picture(stored: np.ndarray, original: np.ndarray):
    """The stored pixels are the X-ray's (up to what the encoding loses), whatever the encoding was."""
    correlation = np.corrcoef(stored.ravel(), original.ravel())[0, 1]
    assert correlation > 0.99, correlation
    assert abs(stored.mean() - original.mean()) < 0.02
