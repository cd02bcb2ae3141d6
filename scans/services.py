"""Creating scans from validated uploads and queueing them for the model."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from scans.dicom_instances import index_scan
from scans.models import Scan
from scans.validation import ValidatedUpload


@dataclass(frozen=True)
class Refusal:
    filename: str  # sanitised
    reason: str


@dataclass(frozen=True)
class ClinicalContext:
    """Whose X-ray it is and what the family reported with it (scans.clinical)."""

    patient: Patient
    symptoms: tuple[str, ...] = ()
    illness_days: int | None = None
    breaths_per_minute: int | None = None

    def age_months(self, validated: ValidatedUpload) -> int | None:
        """The DICOM's own age at the X-ray when it has one; else the profile's age on the day of upload."""
        if validated.dicom and validated.dicom.age_months is not None:
            return validated.dicom.age_months
        return self.patient.age_in_months_on(timezone.localdate())


@dataclass
class UploadOutcome:
    created: list[Scan] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def create_scan(owner, validated: ValidatedUpload, context: ClinicalContext) -> Scan:
    """A parent's upload for one of their profiles, stored and queued once the row is committed."""
    scan = _scan_from(validated, owner=owner, patient=context.patient, age_at_scan_months=context.age_months(validated))
    scan.accession_number = validated.dicom.accession_number if validated.dicom else ""
    scan.symptoms = list(context.symptoms)
    scan.illness_days, scan.breaths_per_minute = context.illness_days, context.breaths_per_minute
    return store_and_queue(scan, validated)


def create_site_scan(site, validated: ValidatedUpload, *, patient_key: str | None = None) -> Scan:
    """A study a hospital sent (hospitals.intake): the site's, aged by the DICOM's own age or birth date;
    patient_key names the site's patient in the DICOM copy's pseudonymous PatientID."""
    age = validated.dicom.age_months if validated.dicom else None
    scan = _scan_from(validated, site=site, age_at_scan_months=age)
    return store_and_queue(scan, validated, patient_key=patient_key)


def _scan_from(validated: ValidatedUpload, **belongs_to) -> Scan:
    return Scan(
        **belongs_to,
        patient_sex=validated.dicom.sex if validated.dicom else "",
        original_filename=validated.original_filename,
        source_format=validated.source_format,
        width=validated.width,
        height=validated.height,
        size_bytes=validated.size_bytes,
        sha256=validated.sha256,
        dicom_summary=validated.dicom.summary() if validated.dicom else None,
    )


def store_and_queue(scan: Scan, validated: ValidatedUpload, *, patient_key: str | None = None) -> Scan:
    """Store the clean PNG (and a DICOM's de-identified copy), index its DICOM copy for DICOMweb (a JPEG or
    PNG gets its Secondary Capture here, so every scan is reachable) and queue the scan once committed."""
    stored = [scan.image, scan.dicom_file]
    try:
        with transaction.atomic():
            scan.image.save("scan.png", ContentFile(validated.png), save=False)
            if validated.dicom:
                scan.dicom_file.save("scan.dcm", ContentFile(validated.dicom.data), save=False)
            scan.save()
            dicom_data = validated.dicom.data if validated.dicom else None
            stored.append(index_scan(scan, patient_key=patient_key, dicom_data=dicom_data).capture)
            scan.start_inference()
    except Exception:
        # The files are written before the rows; without the rows nothing would ever delete them.
        for field_file in stored:
            if field_file.name:
                field_file.storage.delete(field_file.name)
        raise
    return scan
