"""Creating scans from validated uploads and queueing them for the model."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from patients.models import Patient
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


def create_site_scan(site, validated: ValidatedUpload) -> Scan:
    """A study a hospital sent (hospitals.intake): the site's, aged by the DICOM's own age or birth date."""
    age = validated.dicom.age_months if validated.dicom else None
    return store_and_queue(_scan_from(validated, site=site, age_at_scan_months=age), validated)


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


def store_and_queue(scan: Scan, validated: ValidatedUpload) -> Scan:
    """Store the clean PNG (and a DICOM's de-identified copy) and queue the scan once the row is committed."""
    try:
        with transaction.atomic():
            scan.image.save("scan.png", ContentFile(validated.png), save=False)
            if validated.dicom:
                scan.dicom_file.save("scan.dcm", ContentFile(validated.dicom.data), save=False)
            scan.save()
            scan.start_inference()
    except Exception:
        # The files are written before the row; without the row nothing would ever delete them.
        for stored in (scan.image, scan.dicom_file):
            if stored.name:
                stored.storage.delete(stored.name)
        raise
    return scan
