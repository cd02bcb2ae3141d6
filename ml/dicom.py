"""DICOM decoding into the same DecodedImage the JPEG/PNG path produces.

Applies what a DICOM viewer applies before showing a radiograph: the modality LUT (rescale slope and
intercept), the VOI LUT or window centre/width when present, and inversion for MONOCHROME1, where
high values are dark. Refuses what is not a single-frame chest radiograph, with the reason.

Compressed pixel data (JPEG, JPEG-LS, JPEG 2000, RLE, as CR and DX systems send it) is decoded by one
chosen pydicom plugin per transfer syntax; a syntax no installed plugin decodes is refused by name.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pydicom
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut, get_decoder
from pydicom.uid import JPEG2000TransferSyntaxes, JPEGLSLossless, JPEGLSNearLossless, RLELossless

from ml.constants import MAX_IMAGE_PIXELS
from ml.errors import UnreadableImage, gettext_noop
from ml.images import DecodedImage, stretch, too_large

RADIOGRAPHY_MODALITIES = {"CR", "DX", "DR", "RG", "OT", ""}
CHEST_BODY_PARTS = {"CHEST", "THORAX", "LUNG", "LUNGS", "TORAX", "THORAX_CHEST", ""}
# Side views (ViewPosition, PS3.3 C.8.11.5): the model learned from frontal films only, and a PACS sends
# a study's lateral beside its PA, which must not get a reading of its own.
LATERAL_VIEWS = {"LL", "RL", "LAT", "LATERAL", "LLD", "RLD"}

# One plugin per syntax rather than pydicom's first that does not raise, so a file decodes the same
# everywhere. pylibjpeg's (libjpeg, OpenJPEG, and its Rust RLE, which stops at the frame's size) by
# default; CharLS for JPEG-LS, as it refuses a damaged stream that libjpeg decodes to noise.
DEFAULT_PLUGIN = "pylibjpeg"
PLUGINS = {JPEGLSLossless: "pyjpegls", JPEGLSNearLossless: "pyjpegls"}
# Start-of-frame markers (SOF0-SOF15 less DHT, JPG and DAC; and JPEG-LS's SOF55): the frame size follows.
JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7}
J2K_SIZE_MARKER = b"\xff\x4f\xff\x51"  # SOC then SIZ, which holds the image and its offsets
# What pydicom and its plugins raise on damaged pixel data (pydicom wraps each plugin's error in a RuntimeError).
DECODING_FAILURES = (RuntimeError, ValueError, AttributeError, KeyError, TypeError, IndexError, struct.error)


def decode_dicom(data: bytes) -> DecodedImage:
    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError) as error:
        raise UnreadableImage(
            gettext_noop(
                "The DICOM file is damaged and could not be read. "
                "Export it again from the X-ray system and upload the new file."
            )
        ) from error
    _refuse_what_is_not_a_chest_radiograph(dataset)
    pixels = _pixels(dataset)
    grey = stretch(pixels)
    if str(dataset.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        grey = 1.0 - grey
    return DecodedImage(grey=grey.astype(np.float32), colourfulness=0.0, source_format="DICOM", high_bit_depth=True)


def _refuse_what_is_not_a_chest_radiograph(dataset) -> None:
    modality = str(dataset.get("Modality", "")).upper()
    if modality not in RADIOGRAPHY_MODALITIES:
        raise UnreadableImage(
            gettext_noop(
                "This DICOM file is a %(modality)s study, not a chest X-ray. This tool only reads chest radiographs."
            ),
            modality=modality,
        )
    body_part = str(dataset.get("BodyPartExamined", "")).upper().strip()
    if body_part not in CHEST_BODY_PARTS:
        raise UnreadableImage(
            gettext_noop("This DICOM file shows the %(body_part)s, not the chest. Upload a chest X-ray."),
            body_part=body_part.lower(),
        )
    if str(dataset.get("ViewPosition", "")).upper().strip() in LATERAL_VIEWS:
        raise UnreadableImage(
            gettext_noop(
                "This DICOM file is a lateral (side) view; the computer reads frontal (PA or AP) chest X-rays only."
            )
        )
    if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        raise UnreadableImage(gettext_noop("This DICOM file holds several frames. Upload a single chest X-ray image."))
    if "PixelData" not in dataset:
        raise UnreadableImage(gettext_noop("This DICOM file holds no image. Upload the X-ray image itself."))
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    if rows * columns > MAX_IMAGE_PIXELS:
        raise too_large(columns, rows)
    if int(dataset.get("SamplesPerPixel", 1)) != 1:
        raise UnreadableImage(gettext_noop("This DICOM file is in colour, not a radiograph. Upload a chest X-ray."))


def _pixels(dataset) -> np.ndarray:
    values = apply_modality_lut(_stored_values(dataset), dataset)
    if "VOILUTSequence" in dataset or "WindowCenter" in dataset:
        values = apply_voi_lut(values, dataset, prefer_lut=True)
    return np.asarray(values, dtype=np.float32)


def _stored_values(dataset) -> np.ndarray:
    """The pixel values as stored, decompressed when the transfer syntax is a compressed one."""
    syntax = dataset.file_meta.get("TransferSyntaxUID")
    plugin = decoding_plugin(syntax) if syntax else ""  # without one pydicom refuses, below, as damaged
    if syntax and syntax.is_encapsulated:
        _refuse_frames_larger_than_declared(dataset, syntax)
    dataset.pixel_array_options(decoding_plugin=plugin)
    try:
        return dataset.pixel_array
    except NotImplementedError as error:  # pixel data pydicom does not handle, e.g. 24 bits allocated
        raise _cannot_decode(syntax) from error
    except BaseException as error:
        if not _is_decoding_failure(error):
            raise
        raise _damaged() from error


def _is_decoding_failure(error: BaseException) -> bool:
    # PyO3 turns a Rust plugin's panic (pylibjpeg-rle's, on a damaged frame) into PanicException, which is
    # no Exception: let through, it would end the upload as a server error.
    return isinstance(error, DECODING_FAILURES) or type(error).__name__ == "PanicException"


def decoding_plugin(syntax) -> str:
    """The pydicom plugin that decodes `syntax` here ("" for uncompressed data, or to let pydicom choose
    when the preferred one is not installed); refuses a syntax that no installed plugin decodes."""
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:  # not a transfer syntax pydicom knows how to decode at all
        raise _cannot_decode(syntax) from error
    if not decoder.is_available:
        raise _cannot_decode(syntax)
    preferred = PLUGINS.get(syntax, DEFAULT_PLUGIN)
    return preferred if preferred in decoder.available_plugins else ""


def _refuse_frames_larger_than_declared(dataset, syntax) -> None:
    """JPEG and JPEG 2000 decoders allocate the size a frame's own header states before pydicom compares
    it with Rows and Columns: a few bytes stating 60000 by 60000 pixels would exhaust the memory."""
    if syntax == RLELossless:
        return  # RLE frames state no size; they decode into a buffer of the declared one
    try:
        frame = next(generate_frames(dataset.PixelData, number_of_frames=1), b"")
    except (ValueError, KeyError, struct.error) as error:  # the fragments themselves are broken
        raise _damaged() from error
    size = _j2k_frame_size(frame) if syntax in JPEG2000TransferSyntaxes else _jpeg_frame_size(frame)
    if size != (int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))):
        raise _damaged()


def _jpeg_frame_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) from a JPEG or JPEG-LS frame's start-of-frame segment, walking the segments before it."""
    at = 2 if frame.startswith(b"\xff\xd8") else len(frame)  # after the start-of-image marker
    while at + 9 <= len(frame) and frame[at] == 0xFF:
        marker = frame[at + 1]
        if marker in JPEG_FRAME_MARKERS:
            return struct.unpack(">HH", frame[at + 5 : at + 9])
        at += 1 if marker == 0xFF else 2 + int.from_bytes(frame[at + 2 : at + 4], "big")  # 0xFF: a fill byte
    return None


def _j2k_frame_size(frame: bytes) -> tuple[int, int] | None:
    """(rows, columns) from a JPEG 2000 codestream's SIZ segment (in a JP2 file, the one in its codestream)."""
    at = frame.find(J2K_SIZE_MARKER)
    if at < 0 or len(frame) < at + 24:
        return None
    width, height, left, top = struct.unpack(">4I", frame[at + 8 : at + 24])
    return height - top, width - left


def _cannot_decode(syntax) -> UnreadableImage:
    name = getattr(syntax, "name", str(syntax))
    return UnreadableImage(
        f"This DICOM file is compressed in a format we cannot decode ({name}). "
        "Export it uncompressed (or as JPEG/PNG) and upload it again."
    )


def _damaged() -> UnreadableImage:
    return UnreadableImage(
        "The DICOM image data is damaged or incomplete. Export it again from the X-ray system and upload the new file."
    )
