"""Studies arriving from a hospital, by C-STORE (hospitals.listener) or STOW-RS (api.dicomweb):
who may send, the same validation and queue as a parent's upload, and the original identifiers kept
apart (DicomOrigin) so results can be addressed back to the site's own study."""

from __future__ import annotations

import datetime
import io
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from hospitals.models import DicomOrigin, Site, SiteAETitle
from ml.dicom_patient import dicom_date, patient_sex
from ml.dicom_values import full_text, kept_text
from scans.models import Scan
from scans.services import create_site_scan
from scans.validation import validate_file

log = logging.getLogger(__name__)

SITE_INSTANCE_NAME = "instance.dcm"
# DICOM status codes (PS3.4 Annex B and PS3.18's STOW-RS failure reasons).
CANNOT_UNDERSTAND = 0xC000
OUT_OF_RESOURCES = 0xA700


class Refused(Exception):
    """An instance the portal will not read, with the reason logged and given back to the sender."""

    def __init__(self, reason: str, status: int = CANNOT_UNDERSTAND):
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Received:
    scan: Scan
    origin: DicomOrigin
    created: bool  # False when the same instance had been received from this site before


def site_for_calling_ae(ae_title: str, address: str | None = None) -> Site | None:
    """The active site allowed to send from this AE title (and this address, where one is set), or None."""
    calling = SiteAETitle.objects.select_related("site").filter(ae_title=ae_title.strip(), site__is_active=True)
    known = calling.first()
    if known is None or (known.host and known.host != address):
        return None
    return known.site


def receive(data: bytes, *, site: Site, via: str, calling_ae_title: str = "", received_at=None) -> Received:
    """Read one instance's Part 10 bytes into a queued scan of the site, or raise Refused with why.

    The same instance sent again (by either route) returns the scan made the first time: it is not read twice.
    """
    received_at = received_at or timezone.now()
    try:
        return _receive(data, site, via, calling_ae_title, received_at)
    except Refused as refusal:
        log.warning("refused an instance from %s (%s): %s", site, calling_ae_title or via, refusal.reason)
        raise


def _receive(data: bytes, site: Site, via: str, calling_ae_title: str, received_at) -> Received:
    identifiers = original_identifiers(data)
    earlier = DicomOrigin.objects.select_related("scan").filter(
        site=site, sop_instance_uid=identifiers["sop_instance_uid"]
    )
    if (origin := earlier.first()) is not None:
        return Received(origin.scan, origin, created=False)
    try:
        # A neutral name: the original SOP Instance UID stays in DicomOrigin, apart from the scan's row.
        validated = validate_file(data, SITE_INSTANCE_NAME, max_bytes=settings.DICOM_MAX_INSTANCE_BYTES)
    except ValidationError as error:
        raise Refused(" ".join(error.messages)) from error
    try:
        with transaction.atomic():
            scan = create_site_scan(site, validated, patient_key=site_patient_key(site.pk, identifiers["patient_id"]))
            origin = DicomOrigin.objects.create(
                scan=scan, site=site, calling_ae_title=calling_ae_title, received_via=via, received_at=received_at,
                **identifiers,
            )  # fmt: skip
    except IntegrityError:  # the same instance, arriving twice at once: the other arrival made the scan
        origin = earlier.get()
        return Received(origin.scan, origin, created=False)
    log.info("scan %s queued from %s (%s)", scan.pk, site, calling_ae_title or via)
    return Received(scan, origin, created=True)


def site_patient_key(site_pk: int, patient_id: str) -> str | None:
    """The site's patient, as the DICOM copy's pseudonymous PatientID names them (scans.uids): one per
    patient ID at each site; None (the scan stands alone) when the site sent none."""
    return f"site/{site_pk}/patient/{patient_id}" if patient_id else None


UIDS = {
    "study_instance_uid": "StudyInstanceUID",
    "series_instance_uid": "SeriesInstanceUID",
    "sop_instance_uid": "SOPInstanceUID",
    "sop_class_uid": "SOPClassUID",
}
UID_MAX_CHARS = 64


def original_identifiers(data: bytes) -> dict:
    """What addresses results back: the UIDs, accession and patient attributes, before de-identification.
    Text is kept as the site wrote it, in its character set, cut to its VR's length with a marker."""
    try:
        dataset = dcmread(io.BytesIO(data), stop_before_pixels=True)
        identifiers = {name: full_text(dataset, keyword) for name, keyword in UIDS.items()}
        identifiers |= {
            "accession_number": kept_text(dataset, "AccessionNumber", 16),
            "study_id": kept_text(dataset, "StudyID", 16),
            "patient_id": kept_text(dataset, "PatientID", 64),
            "patient_name": kept_text(dataset, "PatientName", 324),
            "patient_birth_date": dicom_date(full_text(dataset, "PatientBirthDate")),
            "patient_sex": patient_sex(dataset),
            "study_date": dicom_date(full_text(dataset, "StudyDate")),
            "study_time": _time(full_text(dataset, "StudyTime")),
            "referring_physician_name": kept_text(dataset, "ReferringPhysicianName", 324),
        }
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError, AttributeError) as error:
        raise Refused("The DICOM data is damaged and could not be read.") from error
    missing = [name for name in UIDS if name != "sop_class_uid" and not identifiers[name]]
    if missing:
        raise Refused(f"The instance has no {', '.join(missing)}: results could not be addressed back to it.")
    too_long = [name for name in UIDS if len(identifiers[name]) > UID_MAX_CHARS]
    if too_long:  # a cut UID would address results to a study that does not exist
        raise Refused(f"The instance's {', '.join(too_long)} is longer than a UID may be ({UID_MAX_CHARS}).")
    return identifiers


def _time(value) -> datetime.time | None:
    digits = str(value or "").strip().split(".")[0]
    try:
        return datetime.datetime.strptime(digits[:6].ljust(6, "0"), "%H%M%S").time() if digits else None
    except ValueError:
        return None
