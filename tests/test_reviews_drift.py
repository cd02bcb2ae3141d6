"""Drift after go-live: each site's readings week by week, the usual range of a week, and /metrics."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from adaptation.models import ReferenceCase
from reviews import drift
from reviews.models import ReviewCase
from scans.model_card import read_manifest
from scans.models import Prediction, Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    ReferenceCaseFactory,
    ReviewFactory,
    ScanFactory,
    SiteFactory,
    UserFactory,
    ask_for_review,
    private_media,
)

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(datetime(2026, 11, 26, 12, 0))  # a Thursday
THIS_WEEK = drift._week_start(NOW)


def week(weeks_ago: int) -> datetime:
    return THIS_WEEK - timedelta(weeks=weeks_ago)


def readings(monday: datetime, count: int, flagged: int, *, site=None, probability=0.2, distance=5.0):
    """`count` first readings of new films in the week from `monday`, `flagged` of them flagged; rows only."""
    owner = None if site else ScanFactory().owner
    scans = Scan.objects.bulk_create(
        Scan(
            owner=owner, patient=owner and owner.patients.get(), site=site, status=Scan.Status.DONE, image="scans/x.png",
            original_filename="x.png", source_format="PNG", width=1, height=1, size_bytes=1, sha256="0",
        )
        for _ in range(count)
    )  # fmt: skip
    Prediction.objects.bulk_create(
        Prediction(
            scan=scan, model_version="m", probability=probability + (0.02 if n % 2 else -0.02),
            label="pneumonia" if n < flagged else "normal", needs_review=n < flagged, inference_ms=1, queue_ms=1,
            embedding_distance=distance + (0.5 if n % 2 else -0.5), created_at=monday + timedelta(days=1, minutes=n),
        )
        for n, scan in enumerate(scans)
    )  # fmt: skip


def usual_weeks(site=None, weeks=range(6, 0, -1)):
    """Six earlier weeks of 40 readings, about one in ten flagged."""
    for weeks_ago, flagged in zip(weeks, [4, 5, 3, 4, 5, 4], strict=True):
        readings(week(weeks_ago), 40, flagged, site=site)


def the(site_id=None):
    (found,) = [site for site in drift.by_site(NOW) if site.site_id == site_id]
    return found


def test_each_site_and_the_patients_uploads_get_their_weekly_figures():
    site = SiteFactory(name="St Elsewhere")
    readings(week(1), 10, 3, site=site, probability=0.3, distance=8.0)
    readings(week(0), 4, 1, site=site, probability=0.5, distance=12.0)
    readings(week(0), 5, 0)
    # A re-run reads an old film again: it is no reading of this week.
    PredictionFactory(scan=Scan.objects.filter(site=site).first(), model_version="m+new", created_at=NOW)

    uploads, elsewhere = drift.by_site(NOW)

    assert (uploads.name, uploads.site_id, [w.readings for w in uploads.weeks]) == ("Patients' uploads", None, [5])
    assert elsewhere.name == "St Elsewhere"
    last, this = elsewhere.weeks
    assert (last.start, this.start) == (week(1), week(0))
    assert (last.readings, last.flagged.value) == (10, pytest.approx(0.3))
    assert (this.readings, this.flagged.value) == (4, pytest.approx(0.25))
    assert this.probability.value == pytest.approx(0.5)
    assert this.distance.value == pytest.approx(12.0)
    refusal = read_manifest()["gate"]["max_embedding_distance"]
    assert this.distance_ratio == pytest.approx(12.0 / refusal)


def test_agreement_counts_reviewed_readings_and_calibration_weights_them_by_their_chance(settings):
    flagged = ReviewFactory(prediction__probability=0.9, prediction__created_at=NOW).prediction
    settings.QC_SAMPLE_RATE = 1.0
    sampled = [PredictionFactory(normal=True, probability=0.1, created_at=NOW) for _ in range(2)]
    ReviewCase.objects.filter(scan__in=[p.scan for p in sampled]).update(sampling_probability=0.05)
    ReviewFactory(prediction=sampled[0], finding="no_pneumonia")
    ReviewFactory(prediction=sampled[1], finding="pneumonia")
    settings.QC_SAMPLE_RATE = 0.0
    asked = PredictionFactory(normal=True, probability=0.2, created_at=NOW)
    ask_for_review(asked.scan)  # no known chance: agreement counts it, calibration leaves it out
    ReviewFactory(prediction=asked, finding="pneumonia")
    ReviewFactory(prediction=PredictionFactory(created_at=NOW), finding="inconclusive")

    (this,) = the().weeks

    assert (this.reviewed, this.decided) == (5, 4)
    assert flagged.label == "pneumonia" and this.agreement.value == pytest.approx(2 / 4)
    # Weights 1 (flagged), 20 and 20 (sampled at 5 %), 0 (asked for).
    assert this.weighted_probability == pytest.approx((0.9 + 20 * 0.1 + 20 * 0.1) / 41)
    assert this.weighted_pneumonia == pytest.approx((1 + 20) / 41)


def test_a_week_that_moves_outside_its_usual_range_raises_the_banner():
    usual_weeks()
    readings(week(0), 40, 20)  # half flagged, where about one in ten were

    site = the()

    this = site.weeks[-1]
    assert this.figures_out_of_range == ["flagged"]
    low, high = this.flagged.usual
    assert 0 <= low < 0.1 < high < 0.5
    assert site.alerts(NOW) == [(this, ["share flagged"])]


def test_a_usual_week_raises_nothing():
    usual_weeks()
    readings(week(0), 40, 4)

    site = the()

    assert site.weeks[-1].judged() == {"flagged": False, "probability": False, "distance": False}
    assert site.alerts(NOW) == []


def test_a_shift_in_the_films_distance_is_caught_too():
    usual_weeks()
    readings(week(0), 40, 4, distance=9.0)

    assert the().weeks[-1].figures_out_of_range == ["distance"]


@pytest.mark.parametrize(
    ("earlier_weeks", "this_weeks_readings"),
    [(range(3, 0, -1), 40), (range(6, 0, -1), drift.MIN_READINGS - 1)],
    ids=["too-few-earlier-weeks", "too-few-readings-this-week"],
)
def test_a_week_is_not_judged_without_enough_behind_it(earlier_weeks, this_weeks_readings):
    for weeks_ago in earlier_weeks:
        readings(week(weeks_ago), 40, 4)
    readings(week(0), this_weeks_readings, this_weeks_readings // 2)

    this = the().weeks[-1]

    assert this.flagged.usual is None and this.judged() == {}


def test_an_old_excursion_leaves_the_banner_after_a_few_weeks():
    usual_weeks(weeks=range(12, 6, -1))
    readings(week(6), 40, 20)  # the shift, six weeks ago
    for weeks_ago in range(5, -1, -1):
        readings(week(weeks_ago), 40, 4)

    site = the()

    assert [w.start for w in site.weeks if w.figures_out_of_range] == [week(6)]
    assert site.alerts(NOW) == []


def test_metrics_expose_each_sites_recent_weeks_and_what_left_its_range(client):
    now = timezone.now()
    this_week = drift._week_start(now)
    for weeks_ago, flagged in zip(range(6, 0, -1), [4, 5, 3, 4, 5, 4], strict=True):
        readings(this_week - timedelta(weeks=weeks_ago), 40, flagged)
    readings(this_week, 40, 20)
    readings(this_week, 3, 1, site=SiteFactory(name="St Elsewhere"))
    client.force_login(UserFactory(is_staff=True))

    text = client.get(reverse("metrics")).content.decode()

    day = this_week.date().isoformat()
    assert f'portal_drift_readings{{site="installation",week="{day}"}} 40.0' in text
    assert f'portal_drift_flagged_share{{site="installation",week="{day}"}} 0.5' in text
    assert f'portal_drift_out_of_range{{figure="flagged",site="installation",week="{day}"}} 1.0' in text
    assert f'portal_drift_out_of_range{{figure="probability",site="installation",week="{day}"}} 0.0' in text
    assert f'portal_drift_readings{{site="St Elsewhere",week="{day}"}} 3.0' in text
    assert "# HELP portal_drift_embedding_distance_ratio" in text


def test_the_monitoring_page_shows_each_sites_weeks_the_rule_and_the_weighting(admin_client):
    this_week = drift._week_start(timezone.now())
    readings(this_week, 8, 2, site=SiteFactory(name="St Elsewhere"), probability=0.3, distance=8.0)

    page = admin_client.get(reverse("staff:monitoring")).content.decode()

    table = page[page.index('<table class="drift" data-site="') :]
    assert "<h3>St Elsewhere</h3>" in page
    assert f'<tr data-week="{this_week.date().isoformat()}">' in table
    assert '<td data-figure="flagged">25%</td>' in table and '<td data-figure="probability">30%</td>' in table
    assert '<td data-figure="distance">8.00 (49% of refusal)</td>' in table
    assert (
        "<strong>outside its usual range</strong> when it lies farther from the mean of the site's earlier weeks"
        in page
    )
    assert "weighted by the inverse of its chance of review" in page
    assert "drift-banner" not in page  # one week is no history to leave


def test_the_banner_names_the_drifting_site_and_how_many_new_cases_adapting_again_needs(admin_client):
    this_week = drift._week_start(timezone.now())
    site = SiteFactory(name="St Elsewhere")
    for weeks_ago, flagged in zip(range(6, 0, -1), [4, 5, 3, 4, 5, 4], strict=True):
        readings(this_week - timedelta(weeks=weeks_ago), 40, flagged, site=site)
    readings(this_week, 40, 20, site=site)
    ReferenceCaseFactory.create_batch(3, site=site)
    assert ReferenceCase.objects.filter(site=site).count() == 3

    page = admin_client.get(reverse("staff:monitoring")).content.decode()

    banner = page[page.index('<section class="drift-banner"') : page.index("</section>")]
    assert f'data-drift-alert="{site.pk}"' in banner and "St Elsewhere" in banner
    assert "share flagged" in banner
    assert "Adapting again needs 200 new reference cases (reviewed or imported films); 3 so far." in banner
