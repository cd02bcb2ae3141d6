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
    private_tags = attributes.pop("private_tags", {})
    for key, value in attributes.items():
        setattr(dataset, key, value)
    if private_tags:
        block = dataset.private_block(0x0011, "ACME HOSPITAL PACS", create=True)
        for offset, value in enumerate(private_tags.values()):
            block.add_new(offset, "LO", value)
    dataset.PixelData = pixels.astype(np.uint8 if allocated == 8 else np.uint16).tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


# What an X-ray system exports about the patient and the hospital; none of it may reach storage.
IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "HOSP-123456",
    "PatientBirthDate": "20200101",
    "InstitutionName": "St Mungo Childrens Hospital",
    "ReferringPhysicianName": "House^Gregory",
    "AccessionNumber": "ACC-98765",
    "StudyInstanceUID": "1.2.826.0.1.3680043.99.777.123456",
}
PRIVATE_VALUES = {"ward": "Ward 7 bed 12 Jane", "insurer": "INSURANCE-4711-XYZ"}
REFERENCED_UID = "1.2.826.0.1.3680043.99.777.654321"


def identifying_dicom_bytes(pixels: np.ndarray, photometric: str = "MONOCHROME2", bits_stored: int = 16, **attributes):
    """A chest radiograph as a hospital exports it: names, IDs, dates, UIDs, private tags and a sequence."""
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = SecondaryCaptureImageStorage
    referenced.ReferencedSOPInstanceUID = REFERENCED_UID
    referenced.PersonName = "Doe^Jane"  # a name where no table of attributes expects one
    attributes = {
        **IDENTIFIERS,
        "StudyDescription": "CHEST PA",
        "ViewPosition": "PA",
        "ReferencedImageSequence": [referenced],
        "private_tags": PRIVATE_VALUES,
        **attributes,
    }
    return dicom_bytes(pixels, photometric, bits_stored, **attributes)


def identifying_strings(data: bytes) -> list[bytes]:
    """Every identifying value of a file made by identifying_dicom_bytes, as it would appear in bytes."""
    from pydicom import dcmread

    instance_uid = str(dcmread(io.BytesIO(data)).SOPInstanceUID)
    values = [*IDENTIFIERS.values(), *PRIVATE_VALUES.values(), REFERENCED_UID, instance_uid, "Jane"]
    return [value.encode() for value in values]
