"""The reading in a hospital's formats, downloaded from the scan's page: the same files and access
rule as the API's (api.views.ScanDicomSR, ScanFhir), for a site's radiologist working in the browser."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from audit.services import Action, record
from hospitals.results import to_bytes
from hospitals.scan_results import FHIR_JSON, diagnostic_report_of, structured_report_of
from scans.access import get_scan_for
from scans.downloads import DICOM, NOT_KEPT, generated_file


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
    return generated_file(to_bytes(structured_report_of(scan, reading)), f"scan-{pk}-reading-sr.dcm", DICOM)


@login_required
@require_GET
def fhir_report(request, pk: int):
    scan, reading = _scan_and_reading(request, pk, "FHIR DiagnosticReport")
    report = diagnostic_report_of(scan, reading, scan_url=request.build_absolute_uri(scan.get_absolute_url()))
    response = HttpResponse(json.dumps(report, indent=2), content_type=FHIR_JSON)
    response["Content-Disposition"] = f'attachment; filename="scan-{pk}-reading.fhir.json"'
    response["Cache-Control"] = NOT_KEPT
    return response
