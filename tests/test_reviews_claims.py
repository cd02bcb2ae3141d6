"""Claiming a case: one radiologist at a time, taken with a conditional UPDATE; abandoned claims go back."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from portal.celery import app as celery_app
from reviews import services
from reviews.models import ReviewCase
from tests.factories import PredictionFactory, RadiologistFactory, ReviewFactory, ScanFactory, private_media  # noqa: F401


@pytest.fixture
def case(db):
    return PredictionFactory().scan


def holder_of(scan) -> int | None:
    return ReviewCase.objects.filter(scan=scan).values_list("claimed_by", flat=True).first()


def test_a_radiologist_claims_a_waiting_case(case):
    radiologist = RadiologistFactory()

    assert services.claim(case.pk, radiologist)

    assert holder_of(case) == radiologist.pk


def test_a_second_radiologist_cannot_claim_a_held_case(case):
    first, second = RadiologistFactory.create_batch(2)

    won_first = services.claim(case.pk, first)
    won_second = services.claim(case.pk, second)

    assert (won_first, won_second) == (True, False)
    assert holder_of(case) == first.pk


def test_claiming_again_refreshes_ones_own_claim(case, settings):
    radiologist = RadiologistFactory()
    earlier = timezone.now() - timedelta(minutes=20)
    services.claim(case.pk, radiologist, now=earlier)

    assert services.claim(case.pk, radiologist)

    expires = ReviewCase.objects.get(scan=case).claim_expires_at
    assert expires > earlier + timedelta(minutes=settings.REVIEW_CLAIM_MINUTES)


def test_an_abandoned_claim_can_be_taken_over(case, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    first, second = RadiologistFactory.create_batch(2)
    services.claim(case.pk, first, now=timezone.now() - timedelta(minutes=31))

    assert services.claim(case.pk, second)

    assert holder_of(case) == second.pk


def test_a_claim_younger_than_the_limit_is_kept(case, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    first, second = RadiologistFactory.create_batch(2)
    services.claim(case.pk, first, now=timezone.now() - timedelta(minutes=29))

    assert not services.claim(case.pk, second)


def test_a_reviewed_case_cannot_be_claimed(db):
    review = ReviewFactory()

    assert not services.claim(review.scan_id, RadiologistFactory())


@pytest.mark.parametrize("scan_kind", ["normal reading", "unfinished"])
def test_a_case_that_needs_no_review_cannot_be_claimed(db, scan_kind):
    scan = PredictionFactory(normal=True).scan if scan_kind == "normal reading" else ScanFactory()

    assert not services.claim(scan.pk, RadiologistFactory())
    assert holder_of(scan) is None


def test_a_radiologist_cannot_claim_their_own_xray(db):
    radiologist = RadiologistFactory()
    own = PredictionFactory(scan__owner=radiologist).scan

    assert not services.claim(own.pk, radiologist)


def test_only_the_holder_can_give_a_case_back(case):
    holder, other = RadiologistFactory.create_batch(2)
    services.claim(case.pk, holder)

    assert not services.release(case.pk, other)
    assert holder_of(case) == holder.pk
    assert services.release(case.pk, holder)
    assert holder_of(case) is None


def test_radiologists_racing_for_a_case_never_both_win(transactional_db):
    """Real threads, each with its own database connection, released together at a barrier."""
    cases = [PredictionFactory().scan for _ in range(5)]
    radiologists = RadiologistFactory.create_batch(4)
    for case in cases:
        barrier = threading.Barrier(len(radiologists))
        won = {}

        def attempt(radiologist, case=case, barrier=barrier, won=won):
            try:
                barrier.wait(timeout=10)
                won[radiologist.pk] = services.claim(case.pk, radiologist)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=attempt, args=(radiologist,)) for radiologist in radiologists]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        winners = [pk for pk, claimed in won.items() if claimed]
        assert len(won) == len(radiologists)
        assert len(winners) == 1
        assert holder_of(case) == winners[0]


def test_the_sweeper_releases_only_abandoned_claims(db, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    radiologist = RadiologistFactory()
    abandoned, live = PredictionFactory().scan, PredictionFactory().scan
    services.claim(abandoned.pk, radiologist, now=timezone.now() - timedelta(minutes=45))
    services.claim(live.pk, radiologist, now=timezone.now() - timedelta(minutes=5))

    released = services.release_abandoned_claims()

    assert released == 1
    assert holder_of(abandoned) is None
    assert holder_of(live) == radiologist.pk


def test_the_sweeper_runs_on_celery_beat(settings, db):
    # Autodiscovery, as the worker and beat do on start; it runs Django's system checks, and the check
    # of a JSONField asks the database whether it supports JSON.
    celery_app.loader.import_default_modules()

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "reviews.tasks.release_abandoned_claims" in schedule
    assert "reviews.tasks.release_abandoned_claims" in celery_app.tasks
