"""The quality-control sample: a random share of the readings the model cleared goes to the worklist, last,
so the radiologists' findings also describe the films the model did not flag (verification bias)."""

import math
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from actions.reviews import sign_review
from adaptation.models import ReferenceCase
from reviews import services
from reviews.models import ReviewCase
from reviews.worklist import worklist
from scans.models import Prediction, Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ScanFactory,
    UserFactory,
    ask_for_review,
    private_media,
    serving_network_version,
)

pytestmark = pytest.mark.django_db
QC = ReviewCase.Reason.QC_SAMPLE


@pytest.fixture
def rate(settings):
    settings.QC_SAMPLE_RATE = 0.1
    return settings.QC_SAMPLE_RATE


def cleared_readings(count: int) -> list[Prediction]:
    """Many cleared readings at once: rows only (no files), then each one's consequence as the worker runs it."""
    owner = ScanFactory().owner
    patient = owner.patients.get()
    scans = Scan.objects.bulk_create(
        Scan(
            owner=owner, patient=patient, status=Scan.Status.DONE, image="scans/x.png", original_filename="x.png",
            source_format="PNG", width=1, height=1, size_bytes=1, sha256="0", age_at_scan_months=36,
            finished_at=timezone.now(),
        )
        for _ in range(count)
    )  # fmt: skip
    readings = Prediction.objects.bulk_create(
        Prediction(
            scan=scan, model_version="m", probability=0.07, label="normal", needs_review=False, inference_ms=1,
            queue_ms=1,
        )
        for scan in scans
    )  # fmt: skip
    for reading in readings:
        services.open_case_for_reading(reading.scan, reading)
    return readings


def test_the_sample_reaches_the_worklist_at_its_rate_and_exactly_the_scans_drawn(rate):
    readings = cleared_readings(600)

    sampled = set(ReviewCase.objects.values_list("scan_id", flat=True))

    assert sampled == {reading.scan_id for reading in readings if services.qc_draw(reading.scan_id) < rate}
    # Binomial(600, 0.1): 60 expected, standard deviation 7.3; four of them either side.
    assert abs(len(sampled) - 600 * rate) <= 4 * math.sqrt(600 * rate * (1 - rate))
    assert set(ReviewCase.objects.values_list("reason", "priority", "sampling_probability")) == {
        (QC, ReviewCase.Priority.QC_SAMPLE, rate)
    }


def test_the_draw_is_uniform_over_scan_ids():
    draws = [services.qc_draw(scan_id) for scan_id in range(1, 20_001)]

    assert all(0.0 <= draw < 1.0 for draw in draws)
    # Each tenth holds 2,000 of 20,000 draws; binomial standard deviation 42, four of them either side.
    tenths = [sum(1 for draw in draws if low / 10 <= draw < (low + 1) / 10) for low in range(10)]
    assert all(abs(count - 2000) <= 4 * 42.4 for count in tenths), tenths


def test_a_redelivered_reading_draws_the_same(settings):
    settings.QC_SAMPLE_RATE = 0.5
    readings = cleared_readings(40)
    before = dict(ReviewCase.objects.values_list("scan_id", "sampling_probability"))

    for reading in readings:  # the task delivered again: the same scans, the same draws
        services.open_case_for_reading(reading.scan, reading)

    assert dict(ReviewCase.objects.values_list("scan_id", "sampling_probability")) == before
    assert 0 < len(before) < 40


def test_the_draw_depends_on_the_secret_key_so_patients_cannot_predict_it(settings):
    first = [services.qc_draw(scan_id) for scan_id in range(1, 101)]
    settings.SECRET_KEY = "another-installation's-key"

    assert [services.qc_draw(scan_id) for scan_id in range(1, 101)] != first


def test_a_rate_of_zero_samples_nothing(settings):
    settings.QC_SAMPLE_RATE = 0.0

    cleared_readings(200)

    assert not ReviewCase.objects.exists()


def test_flagged_readings_keep_their_reason_tier_and_certain_chance(settings):
    settings.QC_SAMPLE_RATE = 1.0
    flagged, uncertain = PredictionFactory().scan, PredictionFactory(uncertain=True).scan

    cases = {case.scan_id: case for case in ReviewCase.objects.all()}

    assert (cases[flagged.pk].reason, cases[flagged.pk].priority) == ("pneumonia", ReviewCase.Priority.ROUTINE)
    assert (cases[uncertain.pk].reason, cases[uncertain.pk].priority) == ("indeterminate", ReviewCase.Priority.ROUTINE)
    assert {case.sampling_probability for case in cases.values()} == {1.0}


def test_a_sampled_case_comes_after_every_routine_case_whatever_its_wait(settings):
    settings.QC_SAMPLE_RATE = 1.0
    month_ago = timezone.now() - timedelta(days=30)
    sampled = PredictionFactory(normal=True, scan__finished_at=month_ago).scan
    routine = PredictionFactory(probability=0.55).scan
    urgent = PredictionFactory(scan__symptoms=["unable_to_drink"]).scan

    listed = [case.scan_id for case in worklist(RadiologistFactory()).cases]

    assert listed == [urgent.pk, routine.pk, sampled.pk]


def test_a_patients_request_on_a_sampled_case_takes_the_stronger_reason_and_keeps_the_draws_chance(rate):
    scan = next(r.scan for r in cleared_readings(60) if services.qc_draw(r.scan_id) < rate)

    case = ask_for_review(scan)

    assert (case.reason, case.priority) == (ReviewCase.Reason.REQUESTED, ReviewCase.Priority.ROUTINE)
    assert case.sampling_probability == rate and case.requested_at is not None


def test_a_sampled_case_the_patient_asked_about_still_teaches_adaptation_by_its_draws_chance(settings):
    settings.QC_SAMPLE_RATE = 0.5
    version = {"model_version": serving_network_version(), "logit": -2.0, "embedding": bytes(128)}
    readings = (PredictionFactory(normal=True, **version) for _ in range(40))
    scan = next(reading.scan for reading in readings if services.qc_draw(reading.scan_id) < 0.5)
    ask_for_review(scan)
    radiologist = RadiologistFactory()
    assert services.claim(scan.pk, radiologist)

    sign_review(scan, radiologist, finding="no_pneumonia")

    assert ReferenceCase.objects.get(scan=scan).weight == pytest.approx(2.0)


def test_a_later_reading_that_flags_a_sampled_case_makes_it_routine_and_certain(settings):
    settings.QC_SAMPLE_RATE = 1.0
    scan = PredictionFactory(normal=True, model_version="model+old").scan
    settings.QC_SAMPLE_RATE = 0.2

    PredictionFactory(scan=scan, model_version="model+new", probability=0.9)

    case = ReviewCase.objects.get(scan=scan)
    assert (case.reason, case.priority, case.sampling_probability) == ("pneumonia", ReviewCase.Priority.ROUTINE, 1.0)


def test_a_request_on_a_cleared_reading_nobody_drew_has_no_known_chance_until_a_reading_flags_it():
    scan = PredictionFactory(normal=True, model_version="model+old").scan

    case = ask_for_review(scan)
    assert (case.priority, case.sampling_probability) == (ReviewCase.Priority.ROUTINE, 0.0)

    PredictionFactory(scan=scan, model_version="model+new", probability=0.9)
    assert ReviewCase.objects.get(scan=scan).sampling_probability == 1.0


def test_the_worklist_names_and_filters_the_sample(client, settings):
    settings.QC_SAMPLE_RATE = 1.0
    PredictionFactory(normal=True)
    PredictionFactory()
    radiologist = RadiologistFactory()
    client.force_login(radiologist)

    page = client.get(reverse("reviews:worklist"), {"reason": "qc_sample"}).content.decode()

    assert page.count('class="case') == 1
    assert '<span class="tag tag-qc_sample"' in page and "model cleared it; random check" in page
    assert worklist(radiologist).counts["qc_sample"] == 1


def test_the_patients_page_calls_a_sampled_reading_a_routine_check_and_still_offers_a_review(client, settings):
    settings.QC_SAMPLE_RATE = 1.0
    scan = PredictionFactory(normal=True).scan
    client.force_login(scan.owner)

    page = client.get(scan.get_absolute_url()).content.decode()

    assert "As a routine quality check, a radiologist may also look at this X-ray" in page
    assert "does not mean anything was found" in page
    assert "on the radiologists' worklist" not in page
    assert "Ask for a radiologist's review" in page


def test_the_migration_puts_a_tier_under_routine_and_gives_requests_no_known_chance(transactional_db):
    executor = MigrationExecutor(connection)
    before = [("reviews", "0005_quality_control_samples_and_their_sampling_chance")]
    executor.migrate(before)
    OldCase = executor.loader.project_state(before).apps.get_model("reviews", "ReviewCase")
    routine, urgent, asked = (PredictionFactory(review_case=False).scan for _ in range(3))
    now = timezone.now()
    for scan, priority, reason in ((routine, 0, "pneumonia"), (urgent, 1, "urgent_care"), (asked, 0, "requested")):
        OldCase.objects.create(scan_id=scan.pk, reason=reason, priority=priority, waiting_since=now, due_at=now)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    cases = {case.scan_id: (case.priority, case.sampling_probability) for case in ReviewCase.objects.all()}
    assert cases == {
        routine.pk: (ReviewCase.Priority.ROUTINE, 1.0),
        urgent.pk: (ReviewCase.Priority.URGENT, 1.0),
        asked.pk: (ReviewCase.Priority.ROUTINE, 0.0),
    }


@pytest.mark.parametrize(
    ("value", "outcome"),
    [(None, "0.05"), ("0.2", "0.2"), ("0", "0.0"), ("1.5", "QC_SAMPLE_RATE must be a share"), ("five", "ValueError")],
)
def test_the_rate_comes_from_the_environment_and_a_bad_one_stops_the_start(value, outcome):
    environment = {key: val for key, val in os.environ.items() if key != "QC_SAMPLE_RATE"}
    environment["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    if value is not None:
        environment["QC_SAMPLE_RATE"] = value
    code = "import django; django.setup(); from django.conf import settings; print(settings.QC_SAMPLE_RATE)"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=environment,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert outcome in (result.stdout if result.returncode == 0 else result.stderr)
