"""Emails: the result is ready (called by the worker), a review is done; queued after commit as Celery
tasks, by preference, once."""

import contextlib
import functools

import pytest
from django.core import mail

from actions import reviews as actions
from portal.celery import app, send_now
from reviews import services
from scans.models import Scan
from scans.notifications import notify_result_ready
from tests.factories import PredictionFactory, RadiologistFactory, ScanFactory, UserFactory, private_media  # noqa: F401


@pytest.fixture
def scan(db):
    return PredictionFactory(probability=0.82).scan


@pytest.fixture(autouse=True)
def worker_tasks(db):
    """The task modules a worker imports at start (the web process never imports them)."""
    app.loader.import_default_modules()


@pytest.fixture
def delivered(django_capture_on_commit_callbacks):
    """Commit, then run each email task the commit queued, by its registered name, as a worker would."""

    @contextlib.contextmanager
    def commit_and_deliver():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield
        for callback in callbacks:
            if isinstance(callback, functools.partial) and callback.func == send_now:
                app.tasks[callback.args[0]].apply(kwargs=callback.keywords["kwargs"], throw=True)
            else:
                callback()

    return commit_and_deliver


def sign_review(scan, **fields):
    radiologist = RadiologistFactory()
    services.claim(scan.pk, radiologist)
    return actions.sign_review(scan, radiologist, finding="pneumonia", patient_note="See your doctor.", **fields)


def test_the_patient_is_emailed_once_the_result_is_ready(scan, settings, delivered):
    settings.PORTAL_URL = "https://screening.example.org"
    with delivered():
        notify_result_ready(scan)

    (message,) = mail.outbox
    assert message.to == [scan.owner.email]
    assert "ready" in message.subject
    assert f"https://screening.example.org/scans/{scan.pk}/" in message.body


def test_the_email_says_nothing_of_the_result_itself(scan, delivered):
    with delivered():
        notify_result_ready(scan)

    body = mail.outbox[0].body.lower()
    assert "82" not in body
    assert "pneumonia" not in body


def test_nothing_is_queued_before_the_transaction_commits(scan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify_result_ready(scan)

    assert mail.outbox == []
    assert len(callbacks) == 1
    assert callbacks[0].args[0] in app.tasks  # queued under the name the task is registered by


def test_a_redelivered_task_does_not_email_twice(scan, delivered):
    with delivered():
        first = notify_result_ready(scan)
        second = notify_result_ready(scan)

    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1


def test_patients_who_turned_email_off_get_none(db, delivered):
    scan = PredictionFactory(scan__owner=UserFactory(notify_by_email=False)).scan

    with delivered():
        notify_result_ready(scan)
        sign_review(scan)

    assert mail.outbox == []


def test_sites_that_hold_results_send_no_result_email(scan, settings, delivered):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True

    with delivered():
        notify_result_ready(scan)

    assert mail.outbox == []


def test_the_patient_is_emailed_when_the_review_is_signed(scan, delivered):
    with delivered():
        sign_review(scan, internal_note="Secret clinical shorthand")

    (message,) = mail.outbox
    assert message.to == [scan.owner.email]
    assert "radiologist has reviewed" in message.subject
    assert f"/scans/{scan.pk}/" in message.body
    assert "Secret clinical shorthand" not in message.body
    assert "See your doctor" not in message.body


def test_no_review_email_when_the_review_could_not_be_saved(scan, delivered):
    radiologist, colleague = RadiologistFactory.create_batch(2)
    services.claim(scan.pk, colleague)

    with delivered(), pytest.raises(services.ClaimNotHeld):
        actions.sign_review(scan, radiologist, finding="pneumonia")

    assert mail.outbox == []


def test_a_scan_that_could_not_be_read_gets_an_email_that_says_so(db, delivered):
    scan = ScanFactory(status=Scan.Status.REJECTED, status_reason="This looks like a photograph.")

    with delivered():
        notify_result_ready(scan)

    assert mail.outbox[0].subject.endswith("We could not read your X-ray")
    assert "could not read" in mail.outbox[0].body
