"""A parent's upload (the hourly allowance, the profile and what they reported), and showing a scan: who
may see it, and every audit event of what is shown, in one place for the web page, the review page and
the API alike (the results' files, SR and FHIR, record theirs in hospitals.downloads.reading_for_download,
which the page and the API share)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from audit.services import Action, record
from hospitals.models import DicomOrigin, Site
from reviews.models import reached_by_reviewing
from scans import quota
from scans.models import Scan, sees_every_scan
from scans.services import ClinicalContext, Refusal, UploadOutcome, create_scan
from scans.validation import ValidatedUpload, sanitise_filename, validate_upload


def visible_scans(user):
    """Patients: their own. A site's readers, and its systems (its service account): the site's studies.
    Radiologists: also what reviewing reaches (reviews.models.reached_by_reviewing). Staff: what their
    permissions allow."""
    if not user.is_authenticated:
        return Scan.objects.none()
    if sees_every_scan(user):
        return Scan.objects.all()
    # What the site's systems sent, they may read back (DICOMweb), while the site is active.
    sent_by_sites_systems = Scan.objects.filter(site__in=Site.objects.filter(service_account=user, is_active=True))
    own_and_sites_read = Scan.objects.of_account_or_sites_read_by(user) | sent_by_sites_systems
    if not user.is_radiologist:
        return own_and_sites_read
    return own_and_sites_read | Scan.objects.filter(reached_by_reviewing(user))


def get_scan_for(request, pk: int, *, owner_only: bool = False) -> Scan:
    """The one way a view gets a scan: if the request's user may see it (may change it, with owner_only),
    else 404, which the audit log records.

    404 rather than 403: another patient's scan must not even be known to exist. Changes are the
    owner's alone: a radiologist who may read a scan must not delete a patient's X-ray.
    """
    scans = visible_scans(request.user).with_latest_prediction()
    if owner_only:
        scans = scans.filter(owner=request.user)
    try:
        return scans.get(pk=pk)
    except Scan.DoesNotExist:
        record(request, Action.REFUSED, object_type="scan", object_id=pk, scan_id=pk)
        raise Http404("No such scan.") from None


def show_scan(request, pk: int, *, shown_on: str) -> Scan:
    """The scan if the user may see it (else a 404, recorded), with what showing it shows recorded as
    viewed: the scan, its signed review, and a site's identifiers of the study (accession number and
    patient ID, hospitals.DicomOrigin), which the page, the review page and the API detail all show."""
    scan = get_scan_for(request, pk)
    record(request, Action.VIEWED, scan, detail=shown_on)
    if scan.latest_review is not None:
        record(request, Action.VIEWED, scan.latest_review, detail=shown_on)
    if scan.site_id:
        record(request, Action.VIEWED, scan.dicom_origin, detail=shown_on)
    return scan


def with_accession_number(scans, accession_number: str):
    """A site's study by its accession (hospitals.DicomOrigin), or a parent's DICOM upload by its own."""
    of_sites = DicomOrigin.objects.filter(accession_number=accession_number).values("scan")
    return scans.filter(Q(pk__in=of_sites) | Q(accession_number=accession_number))


def earlier_of_the_same_person(scans, scan: Scan):
    """The same person's X-rays before this one: the same profile's, or for a site's study those the site
    sent under the same patient ID. None for a site's study without one."""
    origin = getattr(scan, "dicom_origin", None) if scan.site_id else None
    if scan.patient_id:
        same_person = Q(patient=scan.patient_id)
    elif origin is not None and origin.patient_id:
        same_patient_id = DicomOrigin.objects.filter(patient_id=origin.patient_id).values("scan")
        same_person = Q(site=scan.site_id, pk__in=same_patient_id)
    else:
        return scans.none()
    return scans.filter(same_person, created_at__lt=scan.created_at)


def previous_scan(user, scan: Scan) -> Scan | None:
    """The same person's (profile's) X-ray uploaded just before this one, if the user may see it."""
    earlier = earlier_of_the_same_person(visible_scans(user), scan)
    return earlier.with_latest_prediction().order_by("-created_at", "-id").first()


class OverQuota(Exception):
    """The upload would exceed the account's hourly allowance (scans.quota); nothing was stored."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.reason, self.retry_after = reason, retry_after


def upload_scan(owner, validated: ValidatedUpload, context: ClinicalContext) -> Scan:
    """A parent's validated file for one of their profiles, with what they reported (context): refused
    with OverQuota past the hourly allowance, web and API alike, else stored and queued for the model."""
    over_quota = quota.refusal(owner, validated.size_bytes)
    if over_quota:
        raise OverQuota(*over_quota)
    return create_scan(owner, validated, context)


def upload_scans(owner, files, context: ClinicalContext) -> UploadOutcome:
    """The web form's batch, each file on its own: one bad file must not cost the patient the good ones."""
    outcome = UploadOutcome()
    for uploaded_file in files:
        try:
            outcome.created.append(upload_scan(owner, validate_upload(uploaded_file), context))
        except ValidationError as error:
            outcome.refused.append(Refusal(sanitise_filename(uploaded_file.name), " ".join(error.messages)))
        except OverQuota as refusal:
            outcome.refused.append(Refusal(sanitise_filename(uploaded_file.name), refusal.reason))
    return outcome
