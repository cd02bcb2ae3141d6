"""How the model's readings compare with radiologists' findings: agreement and calibration.

Each figure is one aggregate query over reviews joined to the reading the radiologist saw. The
radiologist's finding is the reference; inconclusive findings are counted but decide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, F, Q, Value
from django.db.models.functions import Floor, Least, TruncMonth

from reviews.models import Review
from scans import clinical
from scans.models import Prediction

PNEUMONIA, NO_PNEUMONIA = Review.Finding.PNEUMONIA, Review.Finding.NO_PNEUMONIA
AI_PNEUMONIA, AI_NORMAL = Q(prediction__label=Prediction.Label.PNEUMONIA), Q(prediction__label=Prediction.Label.NORMAL)
CELLS = {
    "true_positive": Q(finding=PNEUMONIA) & AI_PNEUMONIA,
    "false_negative": Q(finding=PNEUMONIA) & AI_NORMAL,
    "false_positive": Q(finding=NO_PNEUMONIA) & AI_PNEUMONIA,
    "true_negative": Q(finding=NO_PNEUMONIA) & AI_NORMAL,
    "inconclusive": Q(finding=Review.Finding.INCONCLUSIVE),
}
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Agreement:
    true_positive: int = 0
    false_negative: int = 0
    false_positive: int = 0
    true_negative: int = 0
    inconclusive: int = 0
    month: datetime | None = None
    age_band: str = ""

    @property
    def decided(self) -> int:
        return self.true_positive + self.false_negative + self.false_positive + self.true_negative

    @property
    def sensitivity(self) -> float | None:
        """Of cases radiologists called pneumonia, the share the model called pneumonia."""
        return _share(self.true_positive, self.true_positive + self.false_negative)

    @property
    def specificity(self) -> float | None:
        """Of cases radiologists called clear, the share the model called normal."""
        return _share(self.true_negative, self.true_negative + self.false_positive)

    @property
    def agreement(self) -> float | None:
        return _share(self.true_positive + self.true_negative, self.decided)


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    cases: int
    confirmed: int
    mean_probability: float

    @property
    def confirmed_share(self) -> float:
        return self.confirmed / self.cases


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _reviews_of_readings():
    return Review.objects.filter(prediction__isnull=False)


def _cell_counts() -> dict:
    return {name: Count("pk", filter=condition) for name, condition in CELLS.items()}


def agreement() -> Agreement:
    return Agreement(**_reviews_of_readings().aggregate(**_cell_counts()))


def agreement_by_month() -> list[Agreement]:
    rows = (
        _reviews_of_readings()
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**_cell_counts())
        .order_by("month")
    )
    return [Agreement(**row) for row in rows]


def agreement_by_age_band() -> list[Agreement]:
    """Agreement in each age band at the X-ray: outside one to five the model was never trained."""
    rows = _reviews_of_readings().annotate(age_band=clinical.age_band_of("scan__age_at_scan_months")).values("age_band").annotate(**_cell_counts())
    return sorted((Agreement(**row) for row in rows), key=lambda band: clinical.AGE_BANDS.index(band.age_band))


def calibration(bins: int = CALIBRATION_BINS) -> list[CalibrationBin]:
    """Probability in equal bins against the share radiologists confirmed as pneumonia; empty bins left out."""
    decided = _reviews_of_readings().filter(finding__in=[PNEUMONIA, NO_PNEUMONIA])
    rows = (
        # Least(): a probability of exactly 1 belongs in the top bin, not in one of its own.
        decided.annotate(bin=Least(Floor(F("prediction__probability") * float(bins)), Value(bins - 1.0)))
        .values("bin")
        .annotate(
            cases=Count("pk"),
            confirmed=Count("pk", filter=Q(finding=PNEUMONIA)),
            mean_probability=Avg("prediction__probability"),
        )
        .order_by("bin")
    )
    return [
        CalibrationBin(
            int(row["bin"]) / bins,
            (int(row["bin"]) + 1) / bins,
            row["cases"],
            row["confirmed"],
            row["mean_probability"],
        )
        for row in rows
    ]
