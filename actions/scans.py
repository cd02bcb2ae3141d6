"""Showing a scan: who may see it, and every audit event of what is shown, in one place for the web page,
the review page and the API alike (the results' files, SR and FHIR, record theirs in
hospitals.downloads.reading_for_download, which the page and the API share)."""

from __future__ import annotations

from audit.services import Action, record
from scans.access import get_scan_for
from scans.models import Scan


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
