"""validate_upload and the file-name sanitiser, called directly with what a hostile client could send."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from scans.validation import format_size, sanitise_filename, validate_upload
from tests.factories import grey_png

MB = 1024 * 1024


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chest.jpeg", "chest.jpeg"),
        ("../../etc/passwd.png", "passwd.png"),
        ("C:\\Users\\me\\Desktop\\scan.png", "scan.png"),
        ("scan\r\nX-Injected: 1.png", "scanX-Injected: 1.png"),
        ("scan\x00.png", "scan.png"),
        ("bell\x07\x1b[31m.png", "bell[31m.png"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("\u2066left\u2069\u200e\u200f.png", "left.png"),
        ("  two   spaces\tand a tab .png ", "two spacesand a tab .png"),
        ("Cafe\u0301.png", "Caf\u00e9.png"),  # NFC: one character, as typed on another system
        ("", "upload"),
        ("..", "upload"),
        ("folder/", "upload"),
        ("\u202e\x00\r\n", "upload"),
        (None, "upload"),
    ],
)
def test_file_names_are_reduced_to_a_safe_display_name(name, expected):
    assert sanitise_filename(name) == expected


def test_a_long_file_name_is_cut_to_255_characters_keeping_its_extension():
    cleaned = sanitise_filename("x" * 300 + ".jpeg")

    assert len(cleaned) == 255
    assert cleaned.endswith("x.jpeg")


def test_a_long_name_with_a_long_fake_extension_is_cut_as_a_whole():
    cleaned = sanitise_filename("scan." + "y" * 300)

    assert len(cleaned) == 255
    assert cleaned.startswith("scan.yyy")


@pytest.mark.parametrize(
    ("size", "text"),
    [(45 * MB, "45 MB"), (30 * MB, "30 MB"), (int(2.5 * MB), "2.5 MB"), (512 * 1024, "512 KB"), (900, "900 bytes")],
)
def test_sizes_are_written_as_people_read_them(size, text):
    assert format_size(size) == text


class UnreadableFile(SimpleUploadedFile):
    """Fails if read: proves a check happened before reading."""

    def chunks(self, chunk_size=None):
        raise AssertionError("the file was read")

    def read(self, *args):
        raise AssertionError("the file was read")


def test_an_oversized_file_is_refused_before_it_is_read(settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 30 * MB
    upload = UnreadableFile("huge.jpeg", b"tiny")
    upload.size = 45 * MB

    with pytest.raises(ValidationError) as refused:
        validate_upload(upload)

    assert refused.value.messages[0].startswith("This file is 45 MB; the limit is 30 MB.")


def test_a_zero_byte_file_is_refused_as_empty():
    with pytest.raises(ValidationError, match="The file is empty"):
        validate_upload(SimpleUploadedFile("empty.png", b""))


def test_the_decoders_reason_is_passed_through():
    with pytest.raises(ValidationError, match="not a JPEG, PNG or DICOM image"):
        validate_upload(SimpleUploadedFile("x.png", b"GIF89a" + b"\x00" * 100))


def test_a_valid_image_yields_a_clean_png_and_the_facts_of_the_original():
    original = grey_png(80, 48)
    upload = SimpleUploadedFile("folder/../grey.png", original)

    validated = validate_upload(upload)

    assert Image.open(io.BytesIO(validated.png)).size == (80, 48)
    assert (validated.width, validated.height) == (80, 48)
    assert validated.source_format == "PNG"
    assert validated.size_bytes == len(original)
    assert len(validated.sha256) == 64
    assert validated.original_filename == "grey.png"
