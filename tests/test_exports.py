"""Data exports are built by a worker's task: requested once, built once, announced, kept a while, deleted."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from exports import services
from exports.models import DataExport
from portal.celery import app
from tests.factories import PredictionFactory, UserFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db
PAGE = reverse("exports:page")


@pytest.fixture(autouse=True)
def worker_tasks(db):
    app.loader.import_default_modules()


@pytest.fixture
def patient():
    return PredictionFactory().scan.owner


def request_and_build(patient, django_capture_on_commit_callbacks) -> DataExport:
    with django_capture_on_commit_callbacks() as callbacks:
        export = services.request_export(patient)
    (queued,) = callbacks
    assert queued.args[0] == services.BUILD_EXPORT_TASK
    app.tasks[queued.args[0]].apply(kwargs=queued.keywords["kwargs"], throw=True)
    export.refresh_from_db()
    return export


def test_asking_again_while_one_is_being_prepared_queues_nothing_new(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.request_export(patient)
        second = services.request_export(patient)
    assert first == second
    assert len(callbacks) == 1


def test_a_built_export_is_ready_with_its_zip_and_the_patient_is_told(patient, django_capture_on_commit_callbacks):
    export = request_and_build(patient, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.READY and export.is_downloadable
    assert default_storage.exists(export.file.name) and export.size_bytes > 0
    assert patient.email not in export.file.name
    (message,) = mail.outbox
    assert message.to == [patient.email] and "ready" in message.subject


def test_a_patient_who_turned_email_off_is_told_only_on_the_page(django_capture_on_commit_callbacks):
    patient = UserFactory(notify_by_email=False)
    request_and_build(patient, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_a_second_delivery_of_the_build_task_does_nothing(patient, django_capture_on_commit_callbacks):
    export = request_and_build(patient, django_capture_on_commit_callbacks)
    name = export.file.name
    assert services.build(export.pk) == "skipped"
    export.refresh_from_db()
    assert export.file.name == name and len(mail.outbox) == 1


def test_the_page_polls_while_a_copy_is_prepared_and_stops_when_it_is_ready(
    client, patient, django_capture_on_commit_callbacks
):
    client.force_login(patient)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(PAGE)
    assert "hx-trigger" in client.get(PAGE).content.decode()
    app.tasks[callbacks[0].args[0]].apply(kwargs=callbacks[0].keywords["kwargs"], throw=True)
    page = client.get(PAGE).content.decode()
    assert "hx-trigger" not in page and "Download (" in page


def test_an_expired_copy_cannot_be_downloaded_and_is_tidied_away(
    client, patient, settings, django_capture_on_commit_callbacks
):
    export = request_and_build(patient, django_capture_on_commit_callbacks)
    DataExport.objects.filter(pk=export.pk).update(
        ready_at=timezone.now() - timedelta(days=settings.EXPORT_KEEP_DAYS, minutes=1)
    )
    client.force_login(patient)
    assert client.get(export.get_download_url()).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert services.delete_expired() == 1
    assert not default_storage.exists(export.file.name)


def test_deleting_the_account_deletes_its_exports_files(patient, django_capture_on_commit_callbacks):
    export = request_and_build(patient, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        patient.delete_with_files()
    assert not default_storage.exists(export.file.name)


def test_a_lost_request_is_sent_again_by_the_tidy_task(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        export = services.request_export(patient)  # its message never reached the broker
    DataExport.objects.filter(pk=export.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    assert services.requeue_unfinished() == 1


def test_an_export_that_cannot_be_stored_says_so_instead_of_staying_in_preparation(
    client, patient, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the storage folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocked}},
    }
    export = request_and_build(patient, django_capture_on_commit_callbacks)
    assert export.status == DataExport.Status.FAILED and not export.file
    client.force_login(patient)
    page = client.get(PAGE).content.decode()
    assert "could not be prepared" in page and "hx-trigger" not in page
