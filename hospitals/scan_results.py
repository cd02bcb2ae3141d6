"""A scan's result in the shapes hospitals take: the DICOM SR and heatmap capture (hospitals.results)
and the FHIR DiagnosticReport (hospitals.fhir), built from the scan, its reading and its review.

The study they belong to is the site's own (DicomOrigin's original UIDs and accession) for a study a
hospital sent; for a parent's DICOM upload, the de-identified copy's; for a JPEG or PNG upload, UIDs
derived from the scan, so the same scan always gives the same study.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from pydicom import dcmread

from hospitals.fhir import diagnostic_report
from hospitals.results import (
    AIResult,
    RadiologistReview,
    StudyReference,
    heatmap_capture,
    result_uid,
    structured_report,
)
from scans.models import Scan
from scans.uids import installation

FHIR_JSON = "application/fhir+json"
# Secondary Capture Image Storage: what a JPEG or PNG upload is, said in DICOM.
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


@dataclass(frozen=True)
class ResultSource:
    """What every result of one scan is built from, read once: its study, the reading (with the X-ray and
    heatmap files only when a capture is to be made) and the revision."""

    study: StudyReference
    result: AIResult
    revision: int


def result_source(scan: Scan, reading, *, with_images: bool = False) -> ResultSource:
    return ResultSource(study_reference(scan), ai_result(scan, reading, with_images=with_images), revision_of(scan))


def structured_report_of(source: ResultSource):
    return structured_report(source.study, source.result, revision=source.revision)


def heatmap_capture_of(source: ResultSource):
    """Needs a source made with_images. One capture per reading: a review changes the report, not where
    the model looked."""
    return heatmap_capture(source.study, source.result, revision=1)


def diagnostic_report_of(source: ResultSource, *, scan_url: str) -> dict:
    return diagnostic_report(source.study, source.result, scan_url=scan_url)


def revision_of(scan: Scan) -> int:
    """1 for the AI reading alone; 2 once a radiologist has signed: a new SR, as a new instance."""
    return 2 if scan.latest_review is not None else 1


def ai_result(scan: Scan, reading, *, with_images: bool = False) -> AIResult:
    """The reading (a scans.Prediction the caller may see) and, if signed, the review; the X-ray and the
    heatmap are read from storage only with_images (the heatmap capture is the one result that draws)."""
    image_png, heatmap_png = (_stored(scan.image), _stored(reading.heatmap)) if with_images else (b"", None)
    return AIResult(
        scan_id=scan.pk,
        probability=reading.probability,
        label=reading.label,
        band=reading.band,
        model_version=reading.model_version,
        read_at=timezone.localtime(reading.created_at),  # DICOM dates and times are the hospital's local ones
        image_png=image_png,
        heatmap_png=heatmap_png,
        review=_review(scan.latest_review),
        installation=installation(),
    )


def _stored(field_file) -> bytes | None:
    if not field_file:
        return None
    with field_file.open("rb") as stored:
        return stored.read()


def _review(review) -> RadiologistReview | None:
    if review is None:
        return None
    return RadiologistReview(
        finding=review.finding,
        finding_label=review.get_finding_display(),
        radiologist_name=review.radiologist.get_full_name() or review.radiologist.email,
        signed_at=timezone.localtime(review.created_at),
        note=review.patient_note,
    )


def study_reference(scan: Scan) -> StudyReference:
    """The study a result is filed under (see the module's docstring for which)."""
    try:
        origin = scan.dicom_origin
    except ObjectDoesNotExist:
        origin = None
    if origin is not None:
        return _from_origin(origin)
    copy = _deidentified_copy(scan) if scan.dicom_file else None
    return StudyReference(
        study_instance_uid=_uid_of(copy, "StudyInstanceUID") or result_uid(scan.pk, "upload-study", 0, installation()),
        series_instance_uid=_uid_of(copy, "SeriesInstanceUID")
        or result_uid(scan.pk, "upload-series", 0, installation()),
        sop_instance_uid=_uid_of(copy, "SOPInstanceUID") or result_uid(scan.pk, "upload-image", 0, installation()),
        sop_class_uid=_uid_of(copy, "SOPClassUID") or SECONDARY_CAPTURE,
        patient_sex=scan.patient_sex,
        study_date=scan.created_at.date(),
    )


def _from_origin(origin) -> StudyReference:
    return StudyReference(
        study_instance_uid=origin.study_instance_uid,
        series_instance_uid=origin.series_instance_uid,
        sop_instance_uid=origin.sop_instance_uid,
        sop_class_uid=origin.sop_class_uid,
        accession_number=origin.accession_number,
        patient_id=origin.patient_id,
        patient_name=origin.patient_name,
        patient_birth_date=origin.patient_birth_date,
        patient_sex=origin.patient_sex,
        study_date=origin.study_date,
        study_time=origin.study_time,
        study_id=origin.study_id,
        referring_physician_name=origin.referring_physician_name,
    )


def _deidentified_copy(scan: Scan):
    with scan.dicom_file.open("rb") as stored:
        return dcmread(io.BytesIO(stored.read()), stop_before_pixels=True, force=True)


def _uid_of(copy, keyword: str) -> str:
    # A DICOM upload may lack one (an export that was not quite a complete instance): one is made up.
    return str(copy.get(keyword, "") or "").strip() if copy is not None else ""
