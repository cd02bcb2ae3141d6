"""A patient's data rights: download everything in one zip, and delete the account with every stored file."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.files.storage import default_storage
from django.test import TestCase
from django.urls import reverse

from accounts.models import ApiToken, User
from audit.models import AuditEvent
from audit.services import Action
from portal.celery import app
from scans.models import Prediction, Scan
from tests.factories import (  # noqa: F401
    PASSWORD,
    PatientFactory,
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    private_media,
)

EXPORT_URL = reverse("exports:page")
DELETE_URL = reverse("accounts:delete_account")


@pytest.fixture
def patient(db):
    """A patient with a reviewed X-ray, a DICOM upload, a queued one, a token and a confirmed email."""
    review = ReviewFactory(internal_note="Compare with the films from March.")
    patient = review.scan.owner
    ScanFactory(owner=patient, dicom=True)
    ScanFactory(owner=patient)
    ApiToken.issue(patient, "lab script")
    EmailAddress.objects.create(user=patient, email=patient.email, verified=True, primary=True)
    return patient


def stored_files() -> set[str]:
    root = Path(default_storage.location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def download_export(client, user, **fields) -> zipfile.ZipFile:
    """Ask for a copy on the page, let a worker's task build it, then download it from the page's link."""
    client.force_login(user)
    with TestCase.captureOnCommitCallbacks() as callbacks:
        assert client.post(EXPORT_URL, fields).status_code == 302
    (queued,) = callbacks
    app.loader.import_default_modules()  # the task modules a worker imports at start
    app.tasks[queued.args[0]].apply(kwargs=queued.keywords["kwargs"], throw=True)
    export = user.data_exports.get()
    assert export.get_download_url() in client.get(EXPORT_URL).content.decode()
    response = client.get(export.get_download_url())
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="pneumonia-screening-data-')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


# --- Export ---------------------------------------------------------------------------------------


def test_the_export_holds_every_xray_with_its_files_and_report(client, patient):
    archive = download_export(client, patient)

    names = set(archive.namelist())
    for scan in Scan.objects.filter(owner=patient):
        assert {f"scans/{scan.pk}/scan.json", f"scans/{scan.pk}/xray.png", f"scans/{scan.pk}/report.pdf"} <= names
        assert archive.read(f"scans/{scan.pk}/xray.png") == scan.image.read()
        assert archive.read(f"scans/{scan.pk}/report.pdf").startswith(b"%PDF")
    dicom_scan = Scan.objects.get(owner=patient, source_format="DICOM")
    assert archive.read(f"scans/{dicom_scan.pk}/deidentified.dcm")[128:132] == b"DICM"
    prediction = Prediction.objects.get(scan__owner=patient)
    assert f"scans/{prediction.scan_id}/heatmap-{prediction.pk}.png" in names
    assert {"README.txt", "account.json", "access-log.json"} <= names


def test_the_export_has_the_readings_and_reviews_but_not_the_internal_note(client, patient):
    archive = download_export(client, patient)

    review = patient.scans.get(reviews__isnull=False).reviews.get()
    record = json.loads(archive.read(f"scans/{review.scan_id}/scan.json"))
    assert record["readings"][0]["probability"] == 0.82
    assert record["reviews"] == [
        {"finding": "pneumonia", "note_to_you": review.patient_note, "reviewed": review.created_at.isoformat()}
    ]
    assert not [name for name in archive.namelist() if b"films from March" in archive.read(name)]


def test_each_exported_xray_says_whose_it_is_and_what_was_reported_with_it(client, patient):
    scan = patient.scans.first()
    Scan.objects.filter(pk=scan.pk).update(symptoms=["cough"], illness_days=2)

    record = json.loads(download_export(client, patient).read(f"scans/{scan.pk}/scan.json"))

    assert record["patient"] == {
        "id": scan.patient_id, "name": scan.patient.name, "date_of_birth": scan.patient.date_of_birth.isoformat()
    }  # fmt: skip
    assert (record["age_at_scan_months"], record["symptoms"], record["illness_days"]) == (36, ["cough"], 2)


def test_a_copy_of_one_profile_holds_only_their_xrays_and_no_account_details(client, patient):
    reviewed = patient.scans.get(reviews__isnull=False)
    other_child = PatientFactory(owner=patient, name="Leo")
    elsewhere = ScanFactory(owner=patient, patient=other_child)

    archive = download_export(client, patient, patient=other_child.pk)

    names = set(archive.namelist())
    assert f"scans/{elsewhere.pk}/scan.json" in names
    assert not [name for name in names if name.startswith(f"scans/{reviewed.pk}/")]
    assert "account.json" not in names
    assert {event["scan"] for event in json.loads(archive.read("access-log.json"))} <= {elsewhere.pk}


def test_another_accounts_profile_cannot_be_exported(client, patient):
    client.force_login(patient)

    response = client.post(EXPORT_URL, {"patient": PatientFactory().pk}, follow=True)

    assert "Choose one of your profiles" in response.content.decode()
    assert not patient.data_exports.exists()


def test_the_export_holds_nothing_of_another_patient(client, patient):
    other = ScanFactory(original_filename="someone-else.jpeg")

    archive = download_export(client, patient)

    assert not [name for name in archive.namelist() if name.startswith(f"scans/{other.pk}/")]
    assert not [name for name in archive.namelist() if b"someone-else.jpeg" in archive.read(name)]


def test_the_access_log_names_staff_by_role_only(client, patient):
    scan = patient.scans.get(reviews__isnull=False)
    radiologist = scan.reviews.get().radiologist
    AuditEvent.objects.create(
        actor=radiologist, action=Action.VIEWED, object_type="scan", object_id=scan.pk, scan_id=scan.pk
    )

    archive = download_export(client, patient)

    log = json.loads(archive.read("access-log.json"))
    assert {"who": "radiologist", "action": "viewed", "scan": scan.pk} == {
        k: log[0][k] for k in ("who", "action", "scan")
    }
    assert radiologist.email.encode() not in archive.read("access-log.json")
    # The copy was built before it was downloaded; the download itself is audited as it happens.
    assert AuditEvent.objects.filter(actor=patient, action=Action.DOWNLOADED, detail__contains="export").exists()


def test_a_reading_held_for_review_is_not_exported(client, patient, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    held = PredictionFactory(scan__owner=patient).scan

    archive = download_export(client, patient)

    assert json.loads(archive.read(f"scans/{held.pk}/scan.json"))["readings"] == []
    assert not [name for name in archive.namelist() if name.startswith(f"scans/{held.pk}/heatmap")]


def test_the_export_needs_a_login(client, db):
    assert client.get(EXPORT_URL).status_code == 302


# --- Deletion -------------------------------------------------------------------------------------


def test_deleting_the_account_removes_its_rows_and_every_stored_file(
    client, patient, django_capture_on_commit_callbacks
):
    other = PredictionFactory(scan__dicom=True)
    others_files = {other.scan.image.name, other.scan.dicom_file.name, other.heatmap.name}
    assert len(stored_files() - others_files) == 5  # the patient's three X-rays, a heatmap and a DICOM copy
    client.force_login(patient)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELETE_URL, {"password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert not User.objects.filter(pk=patient.pk).exists()
    assert not Scan.objects.filter(owner_id=patient.pk).exists()
    assert not ApiToken.objects.filter(user_id=patient.pk).exists()
    assert not EmailAddress.objects.filter(user_id=patient.pk).exists()
    assert stored_files() == others_files
    assert "_auth_user_id" not in client.session


def test_the_audit_log_keeps_its_records_without_naming_the_deleted_patient(
    client, patient, django_capture_on_commit_callbacks
):
    scan = patient.scans.get(reviews__isnull=False)
    client.force_login(patient)
    client.get(scan.get_absolute_url())
    before = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(DELETE_URL, {"password": PASSWORD})

    assert AuditEvent.objects.count() == before + 1
    viewed = AuditEvent.objects.get(action="viewed", object_type="scan", scan_id=scan.pk)
    assert viewed.actor is None
    deleted = AuditEvent.objects.get(action="deleted", object_type="user")
    assert deleted.object_id == patient.pk and deleted.actor is None


def test_a_wrong_password_deletes_nothing(client, patient):
    client.force_login(patient)

    response = client.post(DELETE_URL, {"password": "not my password"})

    assert response.status_code == 200
    assert "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=patient.pk).exists()
    assert Scan.objects.filter(owner=patient).count() == 3


def test_the_page_asks_for_the_password_and_offers_the_export_first(client, patient):
    client.force_login(patient)

    page = client.get(DELETE_URL).content.decode()

    assert 'type="password"' in page and EXPORT_URL in page


def test_a_radiologist_is_told_to_ask_for_deactivation_instead(client, db):
    radiologist = RadiologistFactory()
    ReviewFactory(radiologist=radiologist)
    client.force_login(radiologist)

    response = client.post(DELETE_URL, {"password": PASSWORD})

    assert "Ask an administrator to deactivate yours." in response.content.decode()
    assert User.objects.filter(pk=radiologist.pk).exists()


def test_the_preferences_page_links_to_the_export_and_the_deletion(client, patient):
    client.force_login(patient)

    page = client.get(reverse("accounts:preferences")).content.decode()

    assert EXPORT_URL in page and DELETE_URL in page
