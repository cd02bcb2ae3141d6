"""Build DICOM files with pydicom from the shared X-rays, as an X-ray system would export them."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid


def dicom_bytes(pixels: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int = 16, **attributes) -> bytes:
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = attributes.pop("transfer_syntax", ExplicitVRLittleEndian)
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = Dataset()
    dataset.file_meta = meta
    dataset.PatientName = "Doe^Jane"
    dataset.PatientID = "HOSP-123456"
    dataset.PatientBirthDate = "20200101"
    dataset.Modality = "DX"
    dataset.BodyPartExamined = "CHEST"
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    dataset.Rows, dataset.Columns = pixels.shape[-2:]
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = photometric
    allocated = 8 if bits_stored <= 8 else 16
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit = allocated, bits_stored, bits_stored - 1
    dataset.PixelRepresentation = 0
    for key, value in attributes.items():
        setattr(dataset, key, value)
    dataset.PixelData = pixels.astype(np.uint8 if allocated == 8 else np.uint16).tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
