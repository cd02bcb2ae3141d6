"""What DICOMweb hands out of a scan's DICOM copy (scans.dicom_instances): the dataset as the index names it,
its frames as native little-endian bytes, and the image rendered through its VOI window."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from django.utils import timezone
from PIL import Image
from pydicom import Dataset, dcmread
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.uid import ExplicitVRLittleEndian

from scans.dicom_instances import to_part10
from scans.models import DicomInstance

EXPLICIT_VR_LITTLE_ENDIAN = str(ExplicitVRLittleEndian)


class NoSuchFrame(Exception):
    """A frame number the instance does not have."""


@dataclass(frozen=True)
class Window:
    center: float
    width: float


def served_dataset(instance: DicomInstance, *, with_pixels: bool) -> Dataset:
    """The stored copy, with what the index says of it written in: the UIDs (a copy lacking one gets the
    derived one), the portal's PatientID, and the date the portal received it as the study's date (the
    copy's own dates were removed by de-identification)."""
    with instance.part10.open("rb") as stored:
        dataset = dcmread(stored, stop_before_pixels=not with_pixels, force=True)
    received = timezone.localtime(instance.scan.created_at)
    dataset.StudyInstanceUID = instance.study_instance_uid
    dataset.SeriesInstanceUID = instance.series_instance_uid
    dataset.SOPInstanceUID = instance.sop_instance_uid
    dataset.PatientID = instance.patient_id
    dataset.StudyDate = received.strftime("%Y%m%d")
    dataset.StudyTime = received.strftime("%H%M%S")
    dataset.file_meta.MediaStorageSOPInstanceUID = instance.sop_instance_uid
    return dataset


def metadata(instance: DicomInstance) -> dict:
    """The instance as DICOM JSON without its pixels: the frames are fetched apart (…/frames/n)."""
    return served_dataset(instance, with_pixels=False).to_json_dict()


def transfer_syntax_of(dataset: Dataset) -> str:
    return str(dataset.file_meta.TransferSyntaxUID)


def part10(dataset: Dataset, transfer_syntaxes: frozenset[str]) -> tuple[bytes, str] | None:
    """The instance as a Part 10 file in a transfer syntax the client takes ("*": any, so the stored one),
    and which; explicit VR little endian is made from any other; None when the client takes neither."""
    stored = transfer_syntax_of(dataset)
    if "*" in transfer_syntaxes or stored in transfer_syntaxes:
        return to_part10(dataset), stored
    if EXPLICIT_VR_LITTLE_ENDIAN not in transfer_syntaxes:
        return None
    to_native_little_endian(dataset)
    return to_part10(dataset), EXPLICIT_VR_LITTLE_ENDIAN


def to_native_little_endian(dataset: Dataset) -> None:
    syntax = dataset.file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        dataset.decompress()  # pydicom's plugins (pylibjpeg): native pixels, explicit VR little endian
        return
    if not syntax.is_little_endian:
        pixels = dataset.pixel_array
        dataset.PixelData = pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian


def frame(dataset: Dataset, number: int) -> bytes:
    """Frame `number` (from 1) as PS3.18 sends uncompressed frames: native pixels, little endian, colour
    by pixel (PlanarConfiguration 0), whatever the stored transfer syntax."""
    frames = int(dataset.get("NumberOfFrames") or 1)
    if not 1 <= number <= frames:
        raise NoSuchFrame(f"Frame {number} does not exist: the instance has {frames} frame(s), numbered from 1.")
    pixels = dataset.pixel_array
    one = pixels[number - 1] if frames > 1 else pixels
    return one.astype(one.dtype.newbyteorder("<")).tobytes()


def rendered(dataset: Dataset, *, image_format: str, window: Window | None = None) -> bytes:
    """The first frame as an 8-bit picture (PNG or JPEG): through the modality LUT, then the window given,
    else the file's own VOI (its window or LUT), else its full range; MONOCHROME1 is shown inverted, as it
    is meant to be seen."""
    pixels = dataset.pixel_array
    if int(dataset.get("NumberOfFrames") or 1) > 1:
        pixels = pixels[0]
    if dataset.get("PhotometricInterpretation") in ("RGB", "YBR_FULL"):
        picture = Image.fromarray(pixels.astype(np.uint8), mode="RGB")
    else:
        picture = Image.fromarray(_grey(dataset, pixels, window), mode="L")
    buffer = io.BytesIO()
    picture.save(buffer, image_format, **({"quality": 95} if image_format == "JPEG" else {"compress_level": 1}))
    return buffer.getvalue()


def _grey(dataset: Dataset, pixels: np.ndarray, window: Window | None) -> np.ndarray:
    values = np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float64)
    window = window or file_window(dataset)
    if window is not None:
        low, high = window.center - window.width / 2, window.center + window.width / 2
    else:
        if "VOILUTSequence" in dataset:
            values = np.asarray(apply_voi_lut(values, dataset), dtype=np.float64)
        low, high = float(values.min()), float(values.max())
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0, 1)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        scaled = 1 - scaled
    return np.rint(scaled * 255).astype(np.uint8)


def file_window(dataset: Dataset) -> Window | None:
    """The file's first window (a modality may offer several), if it has a usable one."""
    try:
        center, width = (_first(dataset.get(keyword)) for keyword in ("WindowCenter", "WindowWidth"))
    except (TypeError, ValueError):
        return None
    if center is None or width is None or width <= 0:
        return None
    return Window(center, width)


def _first(value) -> float | None:
    if isinstance(value, MultiValue):
        value = value[0] if len(value) else None
    return None if value is None or value == "" else float(value)
