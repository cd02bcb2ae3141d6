"""DICOM decoding into the same DecodedImage the JPEG/PNG path produces.

Applies what a DICOM viewer applies before showing a radiograph: the modality LUT (rescale slope and
intercept), the VOI LUT or window centre/width when present, and inversion for MONOCHROME1, where
high values are dark. Refuses what is not a single-frame chest radiograph, with the reason.
"""

from __future__ import annotations

import io

import numpy as np

from ml.constants import MAX_IMAGE_PIXELS
from ml.errors import UnreadableImage
from ml.images import DecodedImage, stretch, too_large

RADIOGRAPHY_MODALITIES = {"CR", "DX", "DR", "RG", "OT", ""}
CHEST_BODY_PARTS = {"CHEST", "THORAX", "LUNG", "LUNGS", "TORAX", "THORAX_CHEST", ""}


def decode_dicom(data: bytes) -> DecodedImage:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError) as error:
        raise UnreadableImage(
            "The DICOM file is damaged and could not be read. "
            "Export it again from the X-ray system and upload the new file."
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
            f"This DICOM file is a {modality} study, not a chest X-ray. This tool only reads chest radiographs."
        )
    body_part = str(dataset.get("BodyPartExamined", "")).upper().strip()
    if body_part not in CHEST_BODY_PARTS:
        raise UnreadableImage(f"This DICOM file shows the {body_part.lower()}, not the chest. Upload a chest X-ray.")
    if int(dataset.get("NumberOfFrames", 1) or 1) > 1:
        raise UnreadableImage("This DICOM file holds several frames. Upload a single chest X-ray image.")
    if "PixelData" not in dataset:
        raise UnreadableImage("This DICOM file holds no image. Upload the X-ray image itself.")
    rows, columns = int(dataset.get("Rows", 0)), int(dataset.get("Columns", 0))
    if rows * columns > MAX_IMAGE_PIXELS:
        raise too_large(columns, rows)
    if int(dataset.get("SamplesPerPixel", 1)) != 1:
        raise UnreadableImage("This DICOM file is in colour, not a radiograph. Upload a chest X-ray.")


def _pixels(dataset) -> np.ndarray:
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        raw = dataset.pixel_array
    except (NotImplementedError, RuntimeError) as error:
        syntax = getattr(dataset.file_meta, "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax))
        raise UnreadableImage(
            f"This DICOM file is compressed in a format we cannot decode ({name}). "
            "Export it uncompressed (or as JPEG/PNG) and upload it again."
        ) from error
    except (ValueError, AttributeError, KeyError, TypeError) as error:
        raise UnreadableImage(
            "The DICOM image data is damaged or incomplete. "
            "Export it again from the X-ray system and upload the new file."
        ) from error
    values = apply_modality_lut(raw, dataset)
    if "VOILUTSequence" in dataset or "WindowCenter" in dataset:
        values = apply_voi_lut(values, dataset, prefer_lut=True)
    return np.asarray(values, dtype=np.float32)
