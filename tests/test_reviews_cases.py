"""Review cases: what puts a scan on the worklist, what a second reason changes, and how urgency is kept."""

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from reviews import services
from reviews.models import HOURS_PER_PRIORITY_POINT, ReviewCase
from reviews.worklist import worklist
from scans.models import Prediction, Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    ask_for_review,
    private_media,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("traits", "reason"),
    [({}, "pneumonia"), ({"uncertain": True}, "indeterminate"), ({"normal": True}, None)],
)
def test_a_reading_opens_a_case_with_its_reason_only_when_it_needs_a_human(traits, reason):
    scan = PredictionFactory(**traits).scan

    case = ReviewCase.objects.filter(scan=scan).first()

    assert (case.reason if case else None) == reason


def test_where_every_result_is_reviewed_a_cleared_reading_waits_too(settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True

    scan = PredictionFactory(normal=True).scan

    assert ReviewCase.objects.get(scan=scan).reason == ReviewCase.Reason.SITE_POLICY


def test_a_request_on_a_flagged_case_keeps_its_reason_and_wait_and_notes_the_request():
    scan = PredictionFactory(scan__finished_at=timezone.now() - timedelta(hours=5)).scan
    before = ReviewCase.objects.get(scan=scan)

    case = ask_for_review(scan)

    assert (case.reason, case.waiting_since, case.due_at) == (before.reason, before.waiting_since, before.due_at)
    assert case.requested_at is not None
    assert ReviewCase.objects.count() == 1


def test_a_flag_after_a_request_becomes_the_reason_but_the_wait_runs_from_the_request():
    scan = PredictionFactory(normal=True, model_version="model+old").scan
    asked = ask_for_review(scan, when=timezone.now() - timedelta(days=1))

    PredictionFactory(scan=scan, model_version="model+new", probability=0.9)

    case = ReviewCase.objects.get(scan=scan)
    assert case.reason == ReviewCase.Reason.PNEUMONIA
    assert case.waiting_since == asked.waiting_since
    assert case.prediction.model_version == "model+new"
    assert case.due_at == case.waiting_since - timedelta(hours=0.9 * HOURS_PER_PRIORITY_POINT)


def test_a_later_reading_that_clears_the_scan_keeps_it_on_the_list_with_the_new_figures():
    scan = PredictionFactory(model_version="model+old").scan

    cleared = PredictionFactory(scan=scan, normal=True, model_version="model+new")

    case = ReviewCase.objects.get(scan=scan)
    assert (case.state, case.reason, case.prediction) == (ReviewCase.State.WAITING, "pneumonia", cleared)


def test_a_reviewed_case_is_not_reopened_by_a_new_reading_or_request():
    review = ReviewFactory()

    PredictionFactory(scan=review.scan, model_version="model+new")

    assert not services.request_review(review.scan)
    assert ReviewCase.objects.get(scan=review.scan).state == ReviewCase.State.REVIEWED
    assert list(worklist(RadiologistFactory()).cases) == []


def test_a_scan_being_read_again_leaves_the_worklist_until_it_is_done():
    scan = PredictionFactory().scan
    scan.rerun_with_current_model()

    assert list(worklist(RadiologistFactory()).cases) == []


def test_the_stored_due_time_orders_cases_as_probability_plus_a_point_a_day_of_waiting():
    """The worklist reads due_at off an index; the order must be the score's: probability + days waited."""
    now = timezone.now()
    chooser = random.Random(7)
    for _ in range(40):
        waited = timedelta(hours=chooser.uniform(0, 24 * 6))
        PredictionFactory(probability=round(chooser.random(), 3), scan__finished_at=now - waited)
    radiologist = RadiologistFactory()

    listed = list(worklist(radiologist, now=now).cases)

    def score(case):
        days_waited = (now - case.waiting_since).total_seconds() / 3600 / HOURS_PER_PRIORITY_POINT
        return case.prediction.probability + days_waited

    assert [case.pk for case in listed] == [case.pk for case in sorted(listed, key=score, reverse=True)]


def test_the_migration_turns_the_old_scan_columns_into_cases(transactional_db, settings):
    """The review columns of scans became review cases: flagged, asked-for, claimed and reviewed scans keep
    their place; a scan that needed no review gets no case."""
    executor = MigrationExecutor(connection)
    old = [("scans", "0005_worker_task_id"), ("reviews", "0001_initial")]
    executor.migrate(old)
    apps = executor.loader.project_state(old).apps
    OldScan, Prediction_, Review, User = (
        apps.get_model(*name)
        for name in (("scans", "Scan"), ("scans", "Prediction"), ("reviews", "Review"), ("accounts", "User"))
    )
    now = timezone.now()
    owner = User.objects.create(email="patient@example.com")
    radiologist = User.objects.create(email="radiologist@example.com", role="radiologist")

    def scan(needs_review: bool, **columns):
        made = OldScan.objects.create(
            owner=owner, status="done", image="x.png", original_filename="x.png", source_format="PNG",
            width=1, height=1, size_bytes=1, sha256="0", finished_at=now - timedelta(hours=2), **columns,
        )  # fmt: skip
        Prediction_.objects.create(
            scan=made, model_version="v1", probability=0.8 if needs_review else 0.1,
            label="pneumonia" if needs_review else "normal", needs_review=needs_review, inference_ms=1, queue_ms=1,
        )  # fmt: skip
        return made.pk

    flagged = scan(True)
    asked = scan(False, review_requested_at=now - timedelta(hours=1))
    claimed = scan(True, review_claimed_by=radiologist, review_claimed_at=now)
    reviewed = scan(True)
    Review.objects.create(scan_id=reviewed, radiologist=radiologist, finding="pneumonia")
    cleared = scan(False)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    cases = {case.scan_id: case for case in ReviewCase.objects.all()}
    assert set(cases) == {flagged, asked, claimed, reviewed} and cleared not in cases
    assert (cases[flagged].reason, cases[flagged].state) == ("pneumonia", "waiting")
    assert (cases[asked].reason, cases[asked].requested_at) == ("requested", now - timedelta(hours=1))
    assert cases[claimed].claimed_by_id == radiologist.pk
    assert cases[claimed].claim_expires_at == now + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)
    assert cases[reviewed].state == "reviewed"
    assert Prediction.objects.filter(pk=cases[flagged].prediction_id).exists()
    # Scans from before profiles belong to their account's default profile (scans 0007 and 0008).
    assert set(Scan.objects.values_list("patient__name", "patient__owner_id")) == {("My X-rays", owner.pk)}
