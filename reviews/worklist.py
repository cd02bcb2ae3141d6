"""The radiologists' worklist: cases waiting for a human, most urgent first, with filters and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from scans.models import Prediction, Scan, review_claim_cutoff

# A day of waiting raises a case's priority as much as the model being certain of pneumonia, so a
# low-probability case the patient asked about is not overtaken for ever by newer suspicious ones.
HOURS_PER_PRIORITY_POINT = 24

REASONS = {
    "pneumonia": ("Pneumonia suspected", Q(ai_label=Prediction.Label.PNEUMONIA, ai_indeterminate=False)),
    "indeterminate": ("Uncertain reading", Q(ai_indeterminate=True)),
    "requested": ("Asked for by the patient", Q(review_requested_at__isnull=False)),
}
CLAIM_STATES = {"unclaimed": "Free", "mine": "Claimed by you", "others": "Claimed by others"}


@dataclass(frozen=True)
class FilterOption:
    value: str
    label: str
    count: int
    current: bool


@dataclass
class Worklist:
    cases: Sequence[Scan]
    counts: dict[str, int]
    reason: str
    claim: str

    def reason_options(self) -> list[FilterOption]:
        choices = [("", "All reasons")] + [(name, label) for name, (label, _) in REASONS.items()]
        return [FilterOption(name, label, self.counts[name or "total"], name == self.reason) for name, label in choices]

    def claim_options(self) -> list[FilterOption]:
        choices = [("", "Anyone's")] + list(CLAIM_STATES.items())
        return [FilterOption(name, label, self.counts[name or "total"], name == self.claim) for name, label in choices]


def worklist(radiologist, *, reason: str = "", claim: str = "", now: datetime | None = None) -> Worklist:
    """Cases for this radiologist, filtered by why they wait and who holds them, most urgent first."""
    now = now or timezone.now()
    claim_filters = _claim_filters(radiologist, now)
    base = waiting_cases(radiologist)
    counts = base.aggregate(
        total=Count("pk"),
        **{name: Count("pk", filter=condition) for name, (_, condition) in REASONS.items()},
        **{name: Count("pk", filter=condition) for name, condition in claim_filters.items()},
    )
    cases = base
    if reason in REASONS:
        cases = cases.filter(REASONS[reason][1])
    if claim in claim_filters:
        cases = cases.filter(claim_filters[claim])
    return Worklist(
        RankedCases(cases, now), counts, reason if reason in REASONS else "", claim if claim in claim_filters else ""
    )


class RankedCases(Sequence):
    """The cases, most urgent first, ranked from the few columns priority needs; the full rows (with
    owner and claim holder) are loaded only for the slice a page shows, not for the whole worklist."""

    _RANKING_FIELDS = ("pk", "ai_probability", "ai_flagged", "review_requested_at", "finished_at", "created_at")

    def __init__(self, cases: QuerySet, now: datetime):
        self._cases = cases
        ranked = []
        for row in cases.values(*self._RANKING_FIELDS):
            case = SimpleNamespace(**row)
            ranked.append((row["pk"], waiting_since(case), priority(case, now)))
        self._ranked = sorted(ranked, key=lambda entry: entry[2], reverse=True)

    def __len__(self) -> int:
        return len(self._ranked)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            if not -len(self) <= index < len(self):
                raise IndexError(index)
            return self[index : index + 1 or None][0]
        chosen = self._ranked[index]
        rows = self._cases.in_bulk([pk for pk, _, _ in chosen])
        page = []
        for pk, since, urgency in chosen:
            if pk in rows:  # gone since it was ranked: left out rather than shown stale
                case = rows[pk]
                case.waiting_since, case.priority = since, urgency
                page.append(case)
        return page

    def __iter__(self):
        return iter(self[:])  # one query for all, not one per case

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


def waiting_cases(radiologist) -> QuerySet:
    """Awaiting review, with the latest reading's figures as columns: one query for the whole list."""
    latest = Prediction.objects.filter(scan=OuterRef("pk")).order_by("-created_at")
    return (
        Scan.objects.awaiting_review()
        .exclude(owner=radiologist)
        .select_related("owner", "review_claimed_by")
        .annotate(
            ai_probability=Subquery(latest.values("probability")[:1]),
            ai_label=Subquery(latest.values("label")[:1]),
            ai_indeterminate=Subquery(latest.values("indeterminate")[:1]),
            ai_model_version=Subquery(latest.values("model_version")[:1]),
            ai_flagged=Exists(Prediction.objects.filter(scan=OuterRef("pk"), needs_review=True)),
        )
    )


def _claim_filters(radiologist, now: datetime) -> dict[str, Q]:
    # Claims older than REVIEW_CLAIM_MINUTES count as free here, before the sweeper clears them.
    cutoff = review_claim_cutoff(now)
    live = Q(review_claimed_by__isnull=False, review_claimed_at__gte=cutoff)
    free = Q(review_claimed_by__isnull=True) | Q(review_claimed_at__isnull=True) | Q(review_claimed_at__lt=cutoff)
    return {
        "unclaimed": free,
        "mine": live & Q(review_claimed_by=radiologist),
        "others": live & ~Q(review_claimed_by=radiologist),
    }


def waiting_since(case: Scan) -> datetime:
    """Since the reading flagged it (or, on sites that hold results, since it was read); else since asked."""
    if case.ai_flagged or settings.HOLD_AI_RESULTS_UNTIL_REVIEW or not case.review_requested_at:
        return case.finished_at or case.created_at
    return case.review_requested_at


def priority(case: Scan, now: datetime) -> float:
    waited_hours = max((now - waiting_since(case)).total_seconds(), 0) / 3600
    return (case.ai_probability or 0.0) + waited_hours / HOURS_PER_PRIORITY_POINT
