"""Every scan as a DICOM instance DICOMweb can serve: a DICOM upload's de-identified copy as it is, a JPEG or
PNG upload as a Secondary Capture made from its clean image, and both indexed (DicomInstance) by the UIDs,
the portal's pseudonymous PatientID and what a search answers."""

from __future__ import annotations

import io

import highdicom as hd
import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.uid import ExplicitVRLittleEndian

from ml.preprocessing import decode
from scans.models import DicomInstance, Scan
from scans.uids import installation, pseudonymous_patient_id, result_uid

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MANUFACTURER = "Pneumonia screening portal"
CAPTURE_SERIES_DESCRIPTION = "Uploaded picture of a chest X-ray"
# UTF-8 so that nothing written into a capture is ever refused for its characters.
CHARACTER_SET = "ISO_IR 192"


def profile_patient_key(patient_pk: int) -> str:
    return f"profile/{patient_pk}"


def index_scan(scan: Scan, *, patient_key: str | None = None, dicom_data: bytes | None = None) -> DicomInstance:
    """The scan's DicomInstance, made once: from its de-identified DICOM copy (dicom_data, else the stored
    file), or for a JPEG or PNG upload with a Secondary Capture stored beside it. patient_key names the
    person (profile_patient_key, or a site's patient); without one, the scan stands alone."""
    existing = DicomInstance.objects.filter(scan=scan).first()
    if existing is not None:
        return existing
    key = patient_key or (profile_patient_key(scan.patient_id) if scan.patient_id else f"scan/{scan.pk}")
    instance = DicomInstance(scan=scan, patient_id=pseudonymous_patient_id(key))
    if scan.dicom_file:
        copy = dcmread(io.BytesIO(dicom_data or _read(scan.dicom_file)), stop_before_pixels=True, force=True)
    else:
        copy = secondary_capture(scan, instance.patient_id)
        instance.capture.save("capture.dcm", ContentFile(to_part10(copy)), save=False)
    try:
        _describe(instance, copy, scan)
        instance.save()
    except Exception:
        if instance.capture:  # written before the row: nothing else would ever delete it
            instance.capture.storage.delete(instance.capture.name)
        raise
    return instance


def _read(field_file) -> bytes:
    with field_file.open("rb") as stored:
        return stored.read()


def derived_uids(scan: Scan) -> dict[str, str]:
    """The UIDs of a scan whose file has none of its own (every JPEG or PNG upload): the same ones its
    results are filed under (hospitals.scan_results.study_reference)."""
    return {
        "StudyInstanceUID": result_uid(scan.pk, "upload-study", 0, installation()),
        "SeriesInstanceUID": result_uid(scan.pk, "upload-series", 0, installation()),
        "SOPInstanceUID": result_uid(scan.pk, "upload-image", 0, installation()),
    }


def _describe(instance: DicomInstance, copy: Dataset, scan: Scan) -> None:
    derived = derived_uids(scan)
    uid = {keyword: str(copy.get(keyword, "") or "").strip() or derived[keyword] for keyword in derived}
    instance.study_instance_uid = uid["StudyInstanceUID"]
    instance.series_instance_uid = uid["SeriesInstanceUID"]
    instance.sop_instance_uid = uid["SOPInstanceUID"]
    instance.sop_class_uid = str(copy.get("SOPClassUID", "") or SECONDARY_CAPTURE)
    instance.modality = str(copy.get("Modality", "") or "OT")[:16]
    instance.series_number = _integer(copy.get("SeriesNumber"))
    instance.instance_number = _integer(copy.get("InstanceNumber"))
    instance.rows = int(copy.get("Rows") or scan.height)
    instance.columns = int(copy.get("Columns") or scan.width)
    instance.bits_allocated = int(copy.get("BitsAllocated") or 8)
    instance.number_of_frames = max(_integer(copy.get("NumberOfFrames")) or 1, 1)


def _integer(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def secondary_capture(scan: Scan, patient_id: str) -> hd.sc.SCImage:
    """The upload's clean image as a Secondary Capture: grey in its own bit depth (8 or 16), or colour when
    the picture had colour worth keeping. Nothing of the parent's: the pseudonym, the age and sex only."""
    decoded = decode(_read(scan.image))
    uids = derived_uids(scan)
    made_at = timezone.localtime(scan.created_at)
    if decoded.rgb is not None:
        pixels, bits, photometric = decoded.rgb, 8, hd.PhotometricInterpretationValues.RGB
    elif decoded.high_bit_depth:
        pixels, bits = np.rint(decoded.grey * 65535).astype(np.uint16), 16
        photometric = hd.PhotometricInterpretationValues.MONOCHROME2
    else:
        pixels, bits = np.rint(decoded.grey * 255).astype(np.uint8), 8
        photometric = hd.PhotometricInterpretationValues.MONOCHROME2
    capture = hd.sc.SCImage(
        pixel_array=pixels,
        photometric_interpretation=photometric,
        bits_allocated=bits,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        patient_orientation=("L", "F"),  # required here, emptied below: the picture's orientation is unknown
        study_instance_uid=uids["StudyInstanceUID"],
        series_instance_uid=uids["SeriesInstanceUID"],
        series_number=1,
        sop_instance_uid=uids["SOPInstanceUID"],
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_id=patient_id,
        patient_sex=scan.patient_sex or None,
        study_date=made_at.date(),
        study_time=made_at.time(),
        series_description=CAPTURE_SERIES_DESCRIPTION,
        specific_character_set=CHARACTER_SET,
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    capture.PatientOrientation = None
    capture.ConversionType = "WSD"  # made on a workstation from a picture, not digitised from film
    capture.BurnedInAnnotation = "NO"
    capture.Modality = "OT"
    capture.PatientIdentityRemoved = "YES"
    return capture


def to_part10(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()
