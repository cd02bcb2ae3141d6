"""A scan's files as downloads, for the web and the API alike: which stored or generated file, under
which name and type, what a scan without it answers, and what the audit log records of it."""

from __future__ import annotations

from django.http import Http404
from django.http.response import HttpResponseBase

from accounts.language import in_language_of
from audit.services import Action, record
from scans.downloads import DICOM, PDF, PNG, generated_file, private_file
from scans.models import Scan
from scans.report import render_report

KINDS = ("image", "heatmap", "dicom", "report")


def download(request, scan: Scan, kind: str, *, via: str = "") -> HttpResponseBase:
    """The scan's file of this kind (one of KINDS), for a user the caller's access check let through;
    the download is recorded first, with `via` ("api") in front of its detail. A file the scan does not
    have is a 404 saying so."""
    audited, detail, respond = FILES[kind](request.user, scan)
    record(request, Action.DOWNLOADED, audited, detail=": ".join(part for part in (via, detail) if part))
    return respond()


def _image(user, scan: Scan):
    return scan, "", lambda: private_file(scan.image, f"scan-{scan.pk}.png", PNG)


def _heatmap(user, scan: Scan):
    reading = scan.reading_for(user)
    if reading is None or not reading.heatmap:
        raise Http404("This scan has no heatmap.")
    return reading, "", lambda: private_file(reading.heatmap, f"scan-{scan.pk}-heatmap.png", PNG)


def _dicom(user, scan: Scan):
    if not scan.dicom_file:
        raise Http404("This X-ray was not uploaded as DICOM.")
    name = f"scan-{scan.pk}-deidentified.dcm"
    return scan, "de-identified DICOM", lambda: private_file(scan.dicom_file, name, DICOM)


def _report(user, scan: Scan):
    return scan, "report", lambda: generated_file(_report_in_language(scan, user), f"scan-{scan.pk}-report.pdf", PDF)


def _report_in_language(scan: Scan, user) -> bytes:
    # The API's token users pass no session middleware would read their saved language from.
    with in_language_of(user):
        return render_report(scan, user)


FILES = {"image": _image, "heatmap": _heatmap, "dicom": _dicom, "report": _report}
