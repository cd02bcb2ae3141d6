"""Imports and fits whose message was lost are sent again; those in hand are left alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from adaptation.jobs import requeue_unfinished
from adaptation.models import AdaptationRun, ReferenceImport

pytestmark = pytest.mark.django_db


def test_jobs_queued_too_long_or_abandoned_are_sent_again(django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(hours=4)
    ReferenceImport.objects.create(file="reference-imports/a.zip", created_at=long_ago)
    ReferenceImport.objects.create(file="reference-imports/b.zip", status="running", started_at=long_ago)
    ReferenceImport.objects.create(file="reference-imports/c.zip")  # just asked for
    AdaptationRun.objects.create(created_at=long_ago)
    AdaptationRun.objects.create(status="running", started_at=timezone.now())  # being fitted
    AdaptationRun.objects.create(status="done", created_at=long_ago)

    with django_capture_on_commit_callbacks() as sent:
        assert requeue_unfinished() == 3

    assert len(sent) == 3


def test_the_tasks_the_web_sends_by_name_are_the_workers_and_the_sweeper_runs_on_beat(settings):
    from adaptation.models import ADAPT_TASK, IMPORT_TASK
    from portal.celery import app as celery_app

    celery_app.loader.import_default_modules()  # autodiscovery, as the worker does on start
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert {IMPORT_TASK, ADAPT_TASK, "adaptation.tasks.requeue_unfinished"} <= set(celery_app.tasks)
    assert "adaptation.tasks.requeue_unfinished" in schedule
