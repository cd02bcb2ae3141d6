"""The reading in a hospital's formats, handed to one user: the scan's web page and the API give the same
files under the same rule (the reading the user may see, Scan.reading_for) and the same audit."""

from __future__ import annotations

import json

from audit.services import Action, record
from hospitals.results import to_bytes
from hospitals.scan_results import (
    FHIR_JSON,
    diagnostic_report_of,
    heatmap_capture_of,
    result_source,
    structured_report_of,
)
from scans.downloads import DICOM, generated_document, generated_file


def reading_for_download(request, scan, what: str):
    """The reading this user may take away as a result, recorded with the site's identifiers the file
    carries; None when there is none to give."""
    reading = scan.reading_for(request.user)
    if reading is None:
        return None
    if scan.site_id:
        record(request, Action.VIEWED, scan.dicom_origin, detail=what)
    record(request, Action.DOWNLOADED, reading, detail=what)
    return reading


def structured_report_file(scan, reading):
    dataset = structured_report_of(result_source(scan, reading))
    return generated_file(to_bytes(dataset), f"scan-{scan.pk}-reading-sr.dcm", DICOM)


def heatmap_capture_file(scan, reading):
    dataset = heatmap_capture_of(result_source(scan, reading, with_images=True))
    return generated_file(to_bytes(dataset), f"scan-{scan.pk}-heatmap.dcm", DICOM)


def fhir_report_file(request, scan, reading):
    scan_url = request.build_absolute_uri(scan.get_absolute_url())
    report = diagnostic_report_of(result_source(scan, reading), scan_url=scan_url)
    return generated_document(json.dumps(report), f"scan-{scan.pk}-reading.fhir.json", FHIR_JSON)
