"""A site's radiologist in the browser: the site studies list, and the reading in a hospital's formats
from the scan's page (hospitals.downloads, the same files as the API's)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from actions.scans import get_scan_for
from audit.services import Action, record_many
from hospitals.downloads import fhir_report_file, reading_for_download, structured_report_file
from hospitals.models import Site
from scans.models import Scan, sees_every_scan

STUDIES_PER_PAGE = 25


def _scan_and_reading(request, pk: int, what: str):
    scan = get_scan_for(request, pk)
    reading = reading_for_download(request, scan, what)
    if reading is None:
        raise Http404("This X-ray has no reading yet.")
    return scan, reading


@login_required
@require_GET
def structured_report(request, pk: int):
    return structured_report_file(*_scan_and_reading(request, pk, "DICOM SR"))


@login_required
@require_GET
def fhir_report(request, pk: int):
    return fhir_report_file(request, *_scan_and_reading(request, pk, "FHIR DiagnosticReport"))


@login_required
@require_GET
def studies(request):
    """Every study of the sites the user reads, newest first, or those with one accession number: a
    reader finds a site's X-ray whether or not the model flagged it. Staff with access to scans see every
    site's. The identifiers each row shows are audited."""
    sites = _sites_for(request.user)
    accession_number = request.GET.get("accession_number", "").strip()[:16]
    scans = Scan.objects.filter(site__in=sites).select_related("site", "dicom_origin").with_readings()
    if accession_number:
        scans = scans.filter(dicom_origin__accession_number=accession_number)
    page = Paginator(scans, STUDIES_PER_PAGE).get_page(request.GET.get("page"))
    shown = [scan.dicom_origin for scan in page]  # joined to the page's scans: no further query
    record_many(request, Action.VIEWED, shown, detail=f"site studies list {accession_number}".strip())
    return render(request, "hospitals/studies.html", {"page": page, "accession_number": accession_number})


def _sites_for(user):
    if sees_every_scan(user):
        return Site.objects.all()
    sites = Site.objects.read_by(user)
    if not sites.exists():
        raise Http404("You read for no hospital or clinic.")
    return sites
