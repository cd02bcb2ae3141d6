"""The reading in a hospital's formats, downloaded from the scan's page: the same files and access
rule as the API's (api.views.ScanDicomSR, ScanFhir), for a site's radiologist working in the browser."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.services import Action, record, record_many
from hospitals.models import DicomOrigin, Site
from hospitals.results import to_bytes
from hospitals.scan_results import FHIR_JSON, diagnostic_report_of, result_source, structured_report_of
from scans.access import get_scan_for
from scans.downloads import DICOM, NOT_KEPT, generated_file
from scans.models import Scan

STUDIES_PER_PAGE = 25


def _scan_and_reading(request, pk: int, what: str):
    scan = get_scan_for(request, pk)
    reading = scan.reading_for(request.user)
    if reading is None:
        raise Http404("This X-ray has no reading yet.")
    if scan.site_id:  # the file carries the site's identifiers of the study
        record(request, Action.VIEWED, scan.dicom_origin, detail=what)
    record(request, Action.DOWNLOADED, reading, detail=what)
    return scan, reading


@login_required
@require_GET
def structured_report(request, pk: int):
    scan, reading = _scan_and_reading(request, pk, "DICOM SR")
    return generated_file(
        to_bytes(structured_report_of(result_source(scan, reading))), f"scan-{pk}-reading-sr.dcm", DICOM
    )


@login_required
@require_GET
def fhir_report(request, pk: int):
    scan, reading = _scan_and_reading(request, pk, "FHIR DiagnosticReport")
    report = diagnostic_report_of(
        result_source(scan, reading), scan_url=request.build_absolute_uri(scan.get_absolute_url())
    )
    response = HttpResponse(json.dumps(report, indent=2), content_type=FHIR_JSON)
    response["Content-Disposition"] = f'attachment; filename="scan-{pk}-reading.fhir.json"'
    response["Cache-Control"] = NOT_KEPT
    return response


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
    shown = DicomOrigin.objects.filter(scan__in=[scan.pk for scan in page]).only("pk", "scan_id")
    record_many(request, Action.VIEWED, shown, detail=f"site studies list {accession_number}".strip())
    return render(request, "hospitals/studies.html", {"page": page, "accession_number": accession_number})


def _sites_for(user):
    if user.is_superuser or (user.is_staff and user.has_perm("scans.view_scan")):
        return Site.objects.all()
    sites = Site.objects.read_by(user)
    if not sites.exists():
        raise Http404("You read for no hospital or clinic.")
    return sites
