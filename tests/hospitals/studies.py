"""Studies as a hospital's systems send them, made from the shared chest X-rays: a chest CR with the
patient's name, IDs, accession and the study's own UIDs (new for each call), and what the portal refuses."""

from __future__ import annotations

import io
import itertools

import numpy as np
from PIL import Image
from pydicom import dcmread
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    CTImageStorage,
    MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    generate_uid,
)

from tests.ml.dicom_files import identifying_dicom_bytes

_accessions = itertools.count(1)


def xray_pixels(path) -> np.ndarray:
    """The X-ray as a CR detector's 12-bit values."""
    return np.asarray(Image.open(path).convert("L"), dtype=np.uint16) * 16


def chest_radiograph(pixels: np.ndarray, **attributes) -> bytes:
    """A PA chest CR with everything that identifies the patient and addresses the study; `attributes`
    (DICOM keywords) override, e.g. Modality="CT" or NumberOfFrames=2."""
    number = next(_accessions)
    sop_class = attributes.pop("SOPClassUID", ComputedRadiographyImageStorage)
    data = identifying_dicom_bytes(
        pixels,
        bits_stored=12,
        **{
            "SOPClassUID": sop_class,
            "Modality": "CR",
            "BodyPartExamined": "CHEST",
            "ViewPosition": "PA",
            "AccessionNumber": f"ACC{number:05d}",
            "StudyID": f"S{number}",
            "StudyInstanceUID": generate_uid(),
            "SeriesInstanceUID": generate_uid(),
            "StudyDate": "20251201",
            "StudyTime": "093015",
            "PatientSex": "F",
            "SeriesNumber": 1,
            "InstanceNumber": 1,
            **attributes,
        },
    )
    return _with_meta_for(data, sop_class)


def _with_meta_for(data: bytes, sop_class: str) -> bytes:
    # The builder's file meta names Secondary Capture; a modality's names the instance's own SOP class.
    dataset = dcmread(io.BytesIO(data))
    dataset.file_meta.MediaStorageSOPClassUID = sop_class
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def ct_slice(pixels: np.ndarray) -> bytes:
    """A chest CT image: a study the portal does not read."""
    return chest_radiograph(pixels, SOPClassUID=CTImageStorage, Modality="CT", ViewPosition="")


def multi_frame(pixels: np.ndarray, frames: int = 2) -> bytes:
    """Several chest images in one instance: the portal reads one radiograph at a time."""
    return chest_radiograph(
        np.stack([pixels] * frames),
        SOPClassUID=MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        Modality="DX",
        NumberOfFrames=frames,
    )


def identifiers(data: bytes) -> dict[str, str]:
    """What the hospital knows the study by, from the bytes it sent."""
    dataset = dcmread(io.BytesIO(data), stop_before_pixels=True)
    keywords = (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "AccessionNumber",
        "PatientID",
        "PatientName",
    )
    return {keyword: str(dataset.get(keyword)) for keyword in keywords}
