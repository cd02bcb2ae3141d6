"""Drift after go-live: each site's readings week by week, and the weeks that left their usual range.

Two aggregate queries (readings, and reviews of readings) grouped by site and week in the database;
Python only compares the few weekly rows with one another.

The usual range of a figure, for one site and week: the mean of that figure over the site's earlier
weeks (up to BASELINE_WEEKS of them, each with enough readings) plus or minus 3 times the spread a new
week has around that mean: the larger of the earlier weeks' standard deviation (week-to-week variation)
and the week's own sampling error (a share's binomial error, a mean's standard error; a few quiet
earlier weeks can show almost no spread by chance), widened by sqrt(1 + 1/k) since the mean is itself
estimated from k weeks. A week is judged only with at least MIN_READINGS readings (MIN_DECIDED decided
reviews for agreement) and at least MIN_BASELINE_WEEKS such earlier weeks. How often it rings on
unchanged films, and how often it catches a shift: bench/drift_rule.py.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Avg, Count, Exists, F, FloatField, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf, TruncWeek
from django.utils import timezone

from hospitals.models import Site
from reviews.models import Review
from scans.model_card import read_manifest
from scans.models import Prediction

SHOWN_WEEKS = 12
BASELINE_WEEKS = 8
MIN_BASELINE_WEEKS = 4
MIN_READINGS = 30
MIN_DECIDED = 10
RANGE_WIDTH = 3.0  # spreads either side of the earlier weeks' mean
RECENT_WEEKS = 4  # a week out of range raises the banner for this long
INSTALLATION = "Patients' uploads"

AGREES = Q(finding=Review.Finding.PNEUMONIA, prediction__label=Prediction.Label.PNEUMONIA) | Q(
    finding=Review.Finding.NO_PNEUMONIA, prediction__label=Prediction.Label.NORMAL
)
DECIDED = Q(finding__in=[Review.Finding.PNEUMONIA, Review.Finding.NO_PNEUMONIA])
# The inverse of the chance the reading reached a radiologist (reviews.ReviewCase.sampling_probability):
# a quality-control sample stands for the cleared readings nobody reviewed; a case only the patient's
# request brought (chance 0) stands for nothing else and weighs 0. A review without a case counts once.
CHANCE = Coalesce(F("scan__review_case__sampling_probability"), Value(1.0), output_field=FloatField())
WEIGHT = Coalesce(1.0 / NullIf(CHANCE, Value(0.0)), Value(0.0), output_field=FloatField())


@dataclass
class Figure:
    """One weekly figure with what its range is judged by: the value, its sampling error, and the
    usual range once it can be judged."""

    value: float | None
    error: float = 0.0
    usual: tuple[float, float] | None = None

    @property
    def out_of_range(self) -> bool:
        return self.value is not None and self.usual is not None and not self.usual[0] <= self.value <= self.usual[1]


@dataclass
class Week:
    start: datetime
    readings: int = 0
    distances: int = 0  # readings with an embedding distance (older readings have none)
    flagged: Figure = field(default_factory=lambda: Figure(None))
    probability: Figure = field(default_factory=lambda: Figure(None))
    distance: Figure = field(default_factory=lambda: Figure(None))
    distance_ratio: float | None = None  # the mean distance over the gate's refusal distance
    reviewed: int = 0
    decided: int = 0
    agreement: Figure = field(default_factory=lambda: Figure(None))
    # Calibration of the reviewed readings, weighted by 1 / sampling chance.
    weighted_probability: float | None = None
    weighted_pneumonia: float | None = None

    FIGURES = ("flagged", "probability", "distance", "agreement")

    @property
    def figures_out_of_range(self) -> list[str]:
        return [name for name in self.FIGURES if getattr(self, name).out_of_range]

    def metrics(self) -> dict[str, float | None]:
        """The week's figures under their /metrics names (operations.metrics); None where there is none."""
        return {
            "readings": self.readings,
            "flagged_share": self.flagged.value,
            "mean_probability": self.probability.value,
            "embedding_distance": self.distance.value,
            "embedding_distance_ratio": self.distance_ratio,
            "reviewed": self.reviewed,
            "agreement": self.agreement.value,
            "reviewed_mean_probability_weighted": self.weighted_probability,
            "reviewed_pneumonia_share_weighted": self.weighted_pneumonia,
        }

    def judged(self) -> dict[str, bool]:
        """Each figure that could be judged: whether it left its usual range."""
        return {name: getattr(self, name).out_of_range for name in self.FIGURES if getattr(self, name).usual}


@dataclass
class SiteDrift:
    site_id: int | None
    name: str
    weeks: list[Week]

    @property
    def label(self) -> str:
        """The site's name in /metrics; the patients' uploads are the installation's."""
        return self.name if self.site_id is not None else "installation"

    def alerts(self, now: datetime | None = None) -> list[tuple[Week, list[str]]]:
        """The recent weeks out of their usual range, newest first, with the names of the figures that left it."""
        since = _week_start(now or timezone.now()) - timedelta(weeks=RECENT_WEEKS - 1)
        recent = [week for week in self.weeks if week.start >= since and week.figures_out_of_range]
        return [(week, [FIGURE_NAMES[name] for name in week.figures_out_of_range]) for week in reversed(recent)]


FIGURE_NAMES = {
    "flagged": "share flagged",
    "probability": "mean probability",
    "distance": "distance to the training films",
    "agreement": "agreement with radiologists",
}


def _week_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def weekly_readings(since: datetime):
    """Per site and week: each scan's first reading (a re-run reads old films again and belongs to no week
    of arrival), flagged share, mean probability and embedding distance, with their spreads."""
    earlier = Prediction.objects.filter(scan=OuterRef("scan"), created_at__lt=OuterRef("created_at"))
    return (
        Prediction.objects.filter(created_at__gte=since)
        .filter(~Exists(earlier))
        .values(site=F("scan__site_id"), week=TruncWeek("created_at"))
        .annotate(
            readings=Count("pk"),
            flagged=Count("pk", filter=Q(needs_review=True)),
            mean_probability=Avg("probability"),
            # Mean squares, not StdDev: SQLite's STDDEV fails on one row or on NULLs.
            mean_square_probability=Avg(F("probability") * F("probability")),
            distances=Count("embedding_distance"),
            mean_distance=Avg("embedding_distance"),
            mean_square_distance=Avg(F("embedding_distance") * F("embedding_distance")),
        )
        .order_by()
    )


def weekly_reviews(since: datetime):
    """Per site and week of the reading: agreement with the radiologists, and the calibration of the
    reviewed readings weighted by the inverse of their chance of review."""
    return (
        Review.objects.filter(prediction__isnull=False, prediction__created_at__gte=since)
        .values(site=F("scan__site_id"), week=TruncWeek("prediction__created_at"))
        .annotate(
            reviewed=Count("pk"),
            decided=Count("pk", filter=DECIDED),
            agreed=Count("pk", filter=DECIDED & AGREES),
            weight=Sum(WEIGHT, filter=DECIDED),
            weighted_probability=Sum(WEIGHT * F("prediction__probability"), filter=DECIDED),
            weighted_pneumonia=Sum(WEIGHT, filter=Q(finding=Review.Finding.PNEUMONIA)),
        )
        .order_by()
    )


def by_site(now: datetime | None = None, weeks: int = SHOWN_WEEKS) -> list[SiteDrift]:
    """The last `weeks` weeks of every site with readings (patients' uploads first), each week judged
    against the site's earlier weeks."""
    now = now or timezone.now()
    first_shown = _week_start(now) - timedelta(weeks=weeks - 1)
    since = first_shown - timedelta(weeks=BASELINE_WEEKS)
    refusal = refusal_distance()
    sites: dict[int | None, dict[datetime, Week]] = {}
    for row in weekly_readings(since):
        _fill_readings(_week(sites, row), row, refusal)
    for row in weekly_reviews(since):
        _fill_reviews(_week(sites, row), row)
    # The names apart: grouping by them too made PostgreSQL sort every reading's wider row.
    names = dict(Site.objects.filter(pk__in=[pk for pk in sites if pk is not None]).values_list("pk", "name"))
    names[None] = INSTALLATION
    drifts = []
    for site_id, weeks in sites.items():
        ordered = [weeks[start] for start in sorted(weeks)]
        _judge(ordered)
        shown = [week for week in ordered if week.start >= first_shown]
        if shown:
            drifts.append(SiteDrift(site_id, names[site_id], shown))
    return sorted(drifts, key=lambda drift: (drift.site_id is not None, drift.name))


def refusal_distance() -> float | None:
    """The gate's refusal distance from the serving model's manifest: a film farther from the training
    films than this is refused as no chest X-ray."""
    gate = read_manifest().get("gate")
    distance = gate.get("max_embedding_distance") if isinstance(gate, dict) else None
    return float(distance) if isinstance(distance, int | float) and distance > 0 else None


def _week(sites: dict, row: dict) -> Week:
    weeks = sites.setdefault(row["site"], {})
    start = row["week"]
    return weeks.setdefault(start, Week(start))


def _fill_readings(week: Week, row: dict, refusal: float | None) -> None:
    week.readings = readings = row["readings"]
    week.flagged = Figure(row["flagged"] / readings, _share_error(row["flagged"], readings))
    probability, distance = row["mean_probability"], row["mean_distance"]
    week.probability = Figure(probability, _standard_error(probability, row["mean_square_probability"], readings))
    if row["distances"]:
        week.distance = Figure(distance, _standard_error(distance, row["mean_square_distance"], row["distances"]))
        week.distance_ratio = row["mean_distance"] / refusal if refusal else None
    week.distances = row["distances"]


def _fill_reviews(week: Week, row: dict) -> None:
    week.reviewed, week.decided = row["reviewed"], row["decided"]
    if row["decided"]:
        week.agreement = Figure(row["agreed"] / row["decided"], _share_error(row["agreed"], row["decided"]))
    if row["weight"]:
        week.weighted_probability = row["weighted_probability"] / row["weight"]
        week.weighted_pneumonia = (row["weighted_pneumonia"] or 0.0) / row["weight"]


def _standard_error(mean: float, mean_square: float, count: int) -> float:
    return math.sqrt(max(mean_square - mean * mean, 0.0) / count)


def _share_error(part: int, whole: int) -> float:
    # The share shrunk towards a half: a week with none flagged still has some sampling error.
    share = (part + 1) / (whole + 2)
    return math.sqrt(share * (1 - share) / whole)


# Which weeks have enough behind a figure to judge it, or to count in a later week's baseline.
ENOUGH = {
    "flagged": lambda week: week.readings >= MIN_READINGS,
    "probability": lambda week: week.readings >= MIN_READINGS,
    "distance": lambda week: week.distances >= MIN_READINGS,
    "agreement": lambda week: week.decided >= MIN_DECIDED,
}


UPPER_BOUND = {"flagged": 1.0, "probability": 1.0, "distance": math.inf, "agreement": 1.0}


def _judge(weeks: list[Week]) -> None:
    """Set each figure's usual range from the site's earlier weeks (the rule in the module's docstring)."""
    for name, enough in ENOUGH.items():
        history: list[float] = []
        for week in weeks:
            figure = getattr(week, name)
            if figure.value is None or not enough(week):
                continue
            baseline = history[-BASELINE_WEEKS:]
            if len(baseline) >= MIN_BASELINE_WEEKS:
                mean, spread = statistics.fmean(baseline), statistics.stdev(baseline)
                width = RANGE_WIDTH * math.sqrt(max(spread**2, figure.error**2) * (1 + 1 / len(baseline)))
                figure.usual = (max(mean - width, 0.0), min(mean + width, UPPER_BOUND[name]))
            history.append(figure.value)
