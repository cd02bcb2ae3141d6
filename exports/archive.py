"""Everything the portal holds about a patient, as one zip: the account, each X-ray with its files,
readings, reviews and PDF report, and who looked at them.

What the pages would not show the patient stays out here too: readings a site holds back until review,
radiologists' internal notes, and the names and addresses of the staff in the access log.
"""

from __future__ import annotations

import json
import tempfile
import zipfile

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from audit.models import AuditEvent
from scans.models import Scan
from scans.report import render_report

# Exports up to this size stay in memory; larger ones go to a temporary file.
IN_MEMORY_BYTES = 20 * 1024 * 1024
# Translators: the README of a parent's data export. Keep the file names and the column layout;
# translate the descriptions. when is a date and time.
README = gettext_lazy("""Your data from the pneumonia screening portal, exported %(when)s.

account.json            your account and preferences (not in a copy of one person's X-rays)
scans/<id>/scan.json    each X-ray: whose it is (the profile), age, symptoms, upload facts, status, the
                        computer's readings, the radiologist's review
scans/<id>/xray.png     the X-ray as the model read it
scans/<id>/heatmap-*.png  the areas that influenced each reading most
scans/<id>/deidentified.dcm  for DICOM uploads: the copy kept without what identifies you
scans/<id>/report.pdf   the report of the X-ray
access-log.json         who viewed, downloaded or changed your X-rays and account, and when
""")


def export_zip(user, patient=None):
    """The zip as an open binary file, positioned at its start: everything of the account, or one
    profile's X-rays only (no account details then: it is made to be shared, with a doctor say)."""
    scans = Scan.objects.filter(owner=user)
    if patient is not None:
        scans = scans.filter(patient=patient)
    stream = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README % {"when": _iso(timezone.now())})
        if patient is None:
            archive.writestr("account.json", _json(account_record(user)))
        for scan in scans.with_latest_prediction().select_related("patient"):
            _write_scan(archive, scan, user)
        archive.writestr("access-log.json", _json(access_log(user, patient)))
    stream.seek(0)
    return stream


def _write_scan(archive: zipfile.ZipFile, scan: Scan, user) -> None:
    folder = f"scans/{scan.pk}/"
    archive.writestr(folder + "scan.json", _json(scan_record(scan, user)))
    _copy(archive, scan.image, folder + "xray.png")
    if scan.dicom_file:
        _copy(archive, scan.dicom_file, folder + "deidentified.dcm")
    for prediction in _readings(scan, user):
        if prediction.heatmap:
            _copy(archive, prediction.heatmap, f"{folder}heatmap-{prediction.pk}.png")
    archive.writestr(folder + "report.pdf", render_report(scan, user))


def _copy(archive: zipfile.ZipFile, field_file, name: str) -> None:
    try:
        with field_file.open("rb") as stored:
            archive.writestr(name, stored.read())
    except FileNotFoundError:
        archive.writestr(
            name + ".missing.txt", gettext("This file was missing from storage when you exported your data.")
        )


def account_record(user) -> dict:
    return {
        "email": user.email,
        "role": user.role,
        "joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "email_me_when_results_are_ready": user.notify_by_email,
        "api_tokens": [
            {"name": token.name, "starts_with": token.prefix, "created": _iso(token.created_at)}
            for token in user.api_tokens.all()
        ],
    }


def scan_record(scan: Scan, user) -> dict:
    return {
        "id": scan.pk,
        "uploaded": _iso(scan.created_at),
        "file_name": scan.original_filename,
        "format": scan.source_format,
        "width": scan.width,
        "height": scan.height,
        "size_bytes": scan.size_bytes,
        "sha256": scan.sha256,
        "status": scan.status,
        "status_reason": scan.status_reason,
        "finished": _iso(scan.finished_at),
        "patient": {
            "id": scan.patient_id,
            "name": scan.patient.name,
            "date_of_birth": _iso(scan.patient.date_of_birth),
        },
        "age_at_scan_months": scan.age_at_scan_months,
        "symptoms": scan.symptoms,
        "illness_days": scan.illness_days,
        "breaths_per_minute": scan.breaths_per_minute,
        "review_requested": _iso(_review_requested_at(scan)),
        "dicom_deidentification": scan.dicom_summary,
        "readings": [_reading_record(prediction) for prediction in _readings(scan, user)],
        "reviews": [_review_record(review) for review in scan.reviews.all()],
    }


def _readings(scan: Scan, user):
    # Every model version's reading, when the one rule lets the user see the scan's reading at all.
    return list(scan.predictions.all()) if scan.reading_for(user) else []


def _reading_record(prediction) -> dict:
    return {
        "model_version": prediction.model_version,
        "probability": prediction.probability,
        "label": prediction.label,
        "uncertain": prediction.indeterminate,
        "needs_review": prediction.needs_review,
        "read": _iso(prediction.created_at),
    }


def _review_requested_at(scan: Scan):
    try:
        return scan.review_case.requested_at
    except ObjectDoesNotExist:  # never on the worklist
        return None


def _review_record(review) -> dict:
    # The internal note is for clinicians only, here as on every page.
    return {"finding": review.finding, "note_to_you": review.patient_note, "reviewed": _iso(review.created_at)}


def access_log(user, patient=None) -> list[dict]:
    """Events about the user's X-rays (one profile's only, if given) and, for the whole account, everything
    the user did; other people appear by role only."""
    scans = Scan.objects.filter(owner=user)
    if patient is not None:
        events = AuditEvent.objects.filter(scan_id__in=scans.filter(patient=patient).values("pk"))
    else:
        events = AuditEvent.objects.filter(actor=user) | AuditEvent.objects.filter(scan_id__in=scans.values("pk"))
    return [
        {
            "when": _iso(event.created_at),
            "who": _who(event, user),
            "action": event.action,
            "what": event.object_type,
            "scan": event.scan_id,
            "detail": event.detail,
        }
        for event in events.select_related("actor").order_by("created_at", "id")
    ]


def _who(event: AuditEvent, user) -> str:
    if event.actor_id == user.pk:
        return "you"
    if event.actor is None:
        return "someone not logged in, or whose account was deleted"
    return "staff" if event.actor.is_staff else event.actor.get_role_display().lower()


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _json(data) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
