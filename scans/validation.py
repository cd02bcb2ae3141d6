"""Turn one uploaded file into a clean PNG and its facts, or refuse it with a reason a patient understands.

Uploads are judged by their content only: the name and the browser's content type are never trusted.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

from ml.deidentify import DeidentifiedDicom, deidentify
from ml.errors import UnreadableImage
from ml.preprocessing import decode, encode_png

FALLBACK_FILENAME = "upload"
MAX_FILENAME_LENGTH = 255
# Longer "extensions" are part of the name, not a real extension worth keeping when truncating.
MAX_EXTENSION_LENGTH = 16
# Bidi marks can make "gpj.exe" read as "exe.jpg" on screen. They are in Unicode category Cf and so
# already dropped with the other C* characters; listed to make the intent explicit.
BIDI_MARKS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_PATH_SEPARATORS = re.compile(r"[/\\]")


@dataclass(frozen=True)
class ValidatedUpload:
    png: bytes  # the decoded pixels re-encoded: no metadata or trailing bytes of the original
    width: int
    height: int
    source_format: str  # "JPEG", "PNG" or "DICOM", as found by decoding
    size_bytes: int  # of the original upload
    sha256: str  # of the original upload
    original_filename: str  # sanitised, for display only
    dicom: DeidentifiedDicom | None = None  # a de-identified copy, for DICOM uploads


def validate_upload(uploaded_file) -> ValidatedUpload:
    check_size(uploaded_file.size)
    data = b"".join(uploaded_file.chunks())
    return validate_file(data, uploaded_file.name)


def validate_file(data: bytes, name: str, *, max_bytes: int | None = None) -> ValidatedUpload:
    """The one judgement of an X-ray's bytes, whether a person uploaded them or a hospital sent them
    (a modality's uncompressed film may be larger than a parent's upload: max_bytes)."""
    check_size(len(data), max_bytes)  # the declared size is not trusted either
    try:
        decoded = decode(data)
    except UnreadableImage as error:
        raise unreadable(error) from error
    width, height = decoded.size
    return ValidatedUpload(
        png=encode_png(decoded),
        width=width,
        height=height,
        source_format=decoded.source_format,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_filename=sanitise_filename(name),
        dicom=deidentified_copy(data) if decoded.source_format == "DICOM" else None,
    )


def deidentified_copy(data: bytes) -> DeidentifiedDicom:
    """The DICOM without what identifies the patient; new UIDs derive from a secret of this portal."""
    try:
        return deidentify(data, uid_secret=salted_hmac("scans.dicom-uids", "", algorithm="sha256").hexdigest())
    except UnreadableImage as error:
        raise unreadable(error) from error


def unreadable(error: UnreadableImage) -> ValidationError:
    """ml/ words its refusals in English and marks them; they are translated here, where a person reads them."""
    return ValidationError(gettext(error.message), code="unreadable", params=error.params or None)


def check_size(size_bytes: int | None, limit: int | None = None) -> None:
    limit = limit or settings.SCAN_MAX_UPLOAD_BYTES
    if not size_bytes:
        raise ValidationError(
            gettext("The file is empty (0 bytes). Check that you chose the right file and upload it again."),
            code="empty",
        )
    if size_bytes > limit:
        raise ValidationError(
            gettext(
                "This file is %(size)s; the limit is %(limit)s. "
                "Export a smaller copy of the X-ray (for example as JPEG) and upload that."
            )
            % {"size": format_size(size_bytes), "limit": format_size(limit)},
            code="too_big",
        )


def format_size(size_bytes: int) -> str:
    """Sizes as people read them: "45 MB", "30.4 MB", "512 KB", "900 bytes" (binary units, like the OS),
    the number written and the unit named as the active language does."""
    # Translators: file sizes; French writes "Mo"/"Ko"/"octets", Chinese may keep MB/KB.
    units = ((gettext("%(size)s MB"), 1024 * 1024), (gettext("%(size)s KB"), 1024))
    for unit, factor in units:
        if size_bytes >= factor:
            number = round(size_bytes / factor, 1)
            return unit % {"size": formats.number_format(number, 0 if number == int(number) else 1)}
    return gettext("%(size)s bytes") % {"size": size_bytes}


def sanitise_filename(name: str | None) -> str:
    """A file name safe to show and store as text; never used as a path (stored files get generated names)."""
    base = _PATH_SEPARATORS.split(name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    visible = "".join(
        char for char in base if char not in BIDI_MARKS and not unicodedata.category(char).startswith("C")
    )
    collapsed = " ".join(visible.split())
    if not collapsed.strip("."):
        return FALLBACK_FILENAME
    return truncate_filename(collapsed)


def truncate_filename(name: str, limit: int = MAX_FILENAME_LENGTH) -> str:
    if len(name) <= limit:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension) > MAX_EXTENSION_LENGTH:
        stem, extension = name, ""
    return stem[: limit - len(extension)].rstrip() + extension
