"""Uploading X-rays: real images become queued scans stored as clean PNGs; anything else is refused
file by file with a reason, and nothing of a refused file is stored."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, PngImagePlugin

from ml.constants import DEFAULT_DATA_DIR
from scans.models import Scan
from tests.factories import UserFactory, private_media  # noqa: F401

UPLOAD_URL = reverse("scans:upload")


@pytest.fixture(scope="module")
def normal_xray() -> bytes:
    """A real chest X-ray (JPEG) of a child without pneumonia, from the shared training set."""
    candidates = sorted((DEFAULT_DATA_DIR / "NORMAL").glob("*.jpeg"))
    if not candidates:
        pytest.skip(f"no chest X-rays found in {DEFAULT_DATA_DIR / 'NORMAL'}")
    return candidates[0].read_bytes()


def as_png(jpeg: bytes, bits: int = 8) -> bytes:
    """The X-ray as a PNG carrying a text chunk (like a viewer's export with the patient's name)."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    image = Image.fromarray(grey.astype(np.uint16) * 257) if bits == 16 else Image.fromarray(grey, mode="L")
    metadata = PngImagePlugin.PngInfo()
    metadata.add_text("PatientName", "Jane Doe")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=metadata)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares the given size, with no pixel data: a decompression-bomb probe."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture
def patient(client, db):
    user = UserFactory()
    client.force_login(user)
    return user


def upload(client, *files):
    return client.post(UPLOAD_URL, {"files": list(files)})


def stored_bytes(scan: Scan) -> bytes:
    with scan.image.storage.open(scan.image.name, "rb") as stored:
        return stored.read()


def test_the_upload_page_states_the_limits(client, patient, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 30 * 1024 * 1024
    settings.SCAN_MAX_FILES_PER_UPLOAD = 10

    page = client.get(UPLOAD_URL).content.decode()

    assert "JPEG, PNG, DICOM" in page
    assert "Up to 30 MB per file" in page
    assert "Up to 10 files at a time" in page
    assert "multiple" in page
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("chest.jpeg", lambda jpeg: jpeg),
        ("chest.png", as_png),
        ("chest-16bit.png", lambda jpeg: as_png(jpeg, bits=16)),
    ],
)
def test_a_real_xray_becomes_a_queued_scan_stored_as_a_clean_png(
    client, patient, normal_xray, django_capture_on_commit_callbacks, name, make
):
    data = make(normal_xray)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client, SimpleUploadedFile(name, data, content_type="image/jpeg"))

    scan = Scan.objects.get(owner=patient)
    assert response.status_code == 302
    assert response["Location"] == scan.get_absolute_url()  # one file: the reading arrives on its own page
    assert scan.status == Scan.Status.QUEUED
    assert scan.original_filename == name
    assert (scan.width, scan.height) == Image.open(io.BytesIO(data)).size
    assert scan.size_bytes == len(data)
    stored = stored_bytes(scan)
    assert stored.startswith(b"\x89PNG\r\n\x1a\n")
    assert stored != data
    assert b"Jane Doe" not in stored
    assert scan.image.name.endswith(".png")
    assert name not in scan.image.name
    assert len(callbacks) == 1  # the enqueue waits for the commit


def test_the_source_format_is_recorded_from_the_content(client, patient, normal_xray):
    upload(
        client, SimpleUploadedFile("really-a-jpeg.png", normal_xray), SimpleUploadedFile("a.jpeg", as_png(normal_xray))
    )

    formats = dict(Scan.objects.values_list("original_filename", "source_format"))

    assert formats == {"really-a-jpeg.png": "JPEG", "a.jpeg": "PNG"}


def test_a_16_bit_png_keeps_its_depth(client, patient, normal_xray):
    upload(client, SimpleUploadedFile("deep.png", as_png(normal_xray, bits=16)))

    stored = Image.open(io.BytesIO(stored_bytes(Scan.objects.get(owner=patient))))

    assert stored.mode.startswith("I;16") or stored.mode == "I"


def test_several_files_at_once_become_one_scan_each(client, patient, normal_xray, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(
            client,
            SimpleUploadedFile("first.jpeg", normal_xray),
            SimpleUploadedFile("second.png", as_png(normal_xray)),
            SimpleUploadedFile("third.jpeg", normal_xray),
        )

    assert response.status_code == 302
    assert sorted(Scan.objects.filter(owner=patient).values_list("original_filename", flat=True)) == [
        "first.jpeg", "second.png", "third.jpeg",
    ]  # fmt: skip
    assert len(callbacks) == 3
    follow = client.get(response["Location"])
    assert "3 X-rays uploaded" in follow.content.decode()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.jpeg", b"", "The file is empty"),
        (
            "noise.jpg",
            bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
            "not a JPEG, PNG or DICOM",
        ),
        ("page.png", b"<!doctype html><html><script>alert(1)</script></html>", "not a JPEG, PNG or DICOM"),
        ("bomb.png", png_header_only(100_000, 100_000), "too large"),
    ],
)
def test_broken_or_hostile_input_is_refused_with_a_reason_and_nothing_is_stored(
    client, patient, settings, name, data, reason
):
    response = upload(client, SimpleUploadedFile(name, data))

    page = response.content.decode()
    assert response.status_code == 200
    assert name in page
    assert reason in page
    assert not Scan.objects.exists()
    media = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    assert not any(path.is_file() for path in media.rglob("*"))


def test_a_truncated_jpeg_is_refused_as_damaged(client, patient, normal_xray):
    response = upload(client, SimpleUploadedFile("cut.jpeg", normal_xray[: len(normal_xray) // 2]))

    assert "damaged or incomplete" in response.content.decode()
    assert not Scan.objects.exists()


def test_a_file_over_the_size_limit_is_refused_with_both_sizes(client, patient, normal_xray, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024

    response = upload(client, SimpleUploadedFile("big.jpeg", normal_xray))

    page = response.content.decode()
    assert "big.jpeg" in page
    assert "the limit is 1 KB" in page
    assert not Scan.objects.exists()


def test_more_files_than_allowed_is_a_form_error_and_nothing_is_stored(client, patient, normal_xray, settings):
    settings.SCAN_MAX_FILES_PER_UPLOAD = 2

    response = upload(client, *(SimpleUploadedFile(f"x{i}.jpeg", normal_xray) for i in range(3)))

    assert "You chose 3 files; you can upload up to 2 at a time" in response.content.decode()
    assert not Scan.objects.exists()


def test_more_files_than_the_server_parses_is_refused_and_nothing_is_stored(client, patient, settings):
    files = [SimpleUploadedFile(f"x{i}.jpeg", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]

    response = upload(client, *files)

    assert response.status_code == 400
    assert "fewer files" in response.content.decode()
    assert not Scan.objects.exists()


def test_submitting_no_file_asks_for_one(client, patient):
    response = client.post(UPLOAD_URL, {})

    assert "Choose at least one X-ray file" in response.content.decode()


def test_in_a_mixed_batch_the_good_file_is_saved_and_each_bad_one_is_explained(client, patient, normal_xray):
    response = upload(
        client,
        SimpleUploadedFile("good.jpeg", normal_xray),
        SimpleUploadedFile("empty.png", b""),
        SimpleUploadedFile("letter.jpg", b"Dear doctor, ..."),
    )

    page = response.content.decode()
    scan = Scan.objects.get(owner=patient)
    assert scan.original_filename == "good.jpeg"
    assert scan.get_absolute_url() in page
    assert "<strong>empty.png</strong>: The file is empty" in page
    assert "<strong>letter.jpg</strong>: This file is not a JPEG, PNG or DICOM image" in page


@pytest.mark.parametrize(
    ("sent_name", "shown_name"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\scan.png", "scan.png"),
        ("scan&#13;&#10;Set-Cookie: a=b.png", "scanSet-Cookie: a=b.png"),  # CR LF as a browser could send them
        ("scan\x00.php.png", "scan.php.png"),
        ("photo\u202egnp.exe", "photognp.exe"),
        ("a" * 300 + ".png", "a" * 251 + ".png"),
    ],
)
def test_hostile_file_names_are_neutralised_and_never_used_for_storage(
    client, patient, normal_xray, sent_name, shown_name
):
    upload(client, SimpleUploadedFile(sent_name, normal_xray))

    scan = Scan.objects.get(owner=patient)
    assert scan.original_filename == shown_name
    assert scan.image.name.startswith("scans/")
    assert scan.image.name.endswith(".png")
    assert shown_name not in scan.image.name


def test_upload_needs_a_login(client, db):
    response = client.get(UPLOAD_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
