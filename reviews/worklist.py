"""The radiologists' worklist: cases waiting for a human, most urgent first, with filters and counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from scans.models import Prediction, Scan, review_claim_cutoff

# A day of waiting raises a case's priority as much as the model being certain of pneumonia, so a
# low-probability case the patient asked about is not overtaken for ever by newer suspicious ones.
HOURS_PER_PRIORITY_POINT = 24

# Each filter is a test on one listed case (with_latest_reading): the counts, the filters and the
# ranking all come from that one listing.
REASONS = {
    "pneumonia": (
        "Pneumonia suspected",
        lambda case: case.ai_label == Prediction.Label.PNEUMONIA and not case.ai_indeterminate,
    ),
    "indeterminate": ("Uncertain reading", lambda case: bool(case.ai_indeterminate)),
    "requested": ("Asked for by the patient", lambda case: case.review_requested_at is not None),
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
    claim_tests = _claim_tests(radiologist, now)
    tests = {name: test for name, (_, test) in REASONS.items()} | claim_tests
    waiting = waiting_cases(radiologist)
    every = with_latest_reading(waiting)
    counts = {"total": len(every)} | {name: sum(1 for case in every if test(case)) for name, test in tests.items()}
    reason = reason if reason in REASONS else ""
    claim = claim if claim in claim_tests else ""
    chosen = [case for case in every if (not reason or tests[reason](case)) and (not claim or tests[claim](case))]
    return Worklist(RankedCases(chosen, now), counts, reason, claim)


CASE_FIELDS = ("pk", "review_requested_at", "finished_at", "created_at", "review_claimed_by_id", "review_claimed_at")
# A reading's columns, as the listing joins them, and the names the case carries its latest one under.
READING_FIELDS = {
    "predictions__probability": "ai_probability", "predictions__label": "ai_label",
    "predictions__indeterminate": "ai_indeterminate", "predictions__model_version": "ai_model_version",
}  # fmt: skip


class RankedCases(Sequence):
    """The cases, most urgent first, ranked from the columns that list them (with_latest_reading); the
    full rows (with owner and claim holder) are loaded only for the slice a page shows, by primary key:
    the listing already chose them, so the page does not test every finished scan again."""

    _SHOWN = (*READING_FIELDS.values(), "ai_flagged")

    def __init__(self, cases: list[SimpleNamespace], now: datetime):
        self._rows = Scan.objects.select_related("owner", "review_claimed_by")
        for case in cases:
            case.waiting_since, case.priority = waiting_since(case), priority(case, now)
        self._ranked = sorted(cases, key=lambda case: case.priority, reverse=True)

    def __len__(self) -> int:
        return len(self._ranked)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            if not -len(self) <= index < len(self):
                raise IndexError(index)
            return self[index : index + 1 or None][0]
        chosen = self._ranked[index]
        rows = self._rows.in_bulk([case.pk for case in chosen])
        page = []
        for case in chosen:
            if case.pk in rows:  # deleted since it was ranked: left out
                scan = rows[case.pk]
                for name in self._SHOWN + ("waiting_since", "priority"):
                    setattr(scan, name, getattr(case, name))
                page.append(scan)
        return page

    def __iter__(self):
        return iter(self[:])  # one query for all, not one per case

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented


def waiting_cases(radiologist) -> QuerySet:
    """Scans awaiting review that this radiologist may take: never their own X-ray."""
    return Scan.objects.awaiting_review().exclude(owner=radiologist)


def with_latest_reading(cases: QuerySet) -> list[SimpleNamespace]:
    """Each case's columns with its latest reading's figures, from one query: the cases joined to their
    readings, newest first, so a case read by two model versions is two rows and one never read is one
    row of nulls. (Three queries, each testing every finished scan again, took twice as long.)"""
    names = (*CASE_FIELDS, *READING_FIELDS.values())
    rows = cases.order_by("pk", "-predictions__created_at", "-predictions__pk").values_list(
        *CASE_FIELDS, *READING_FIELDS, "predictions__needs_review"
    )
    listed: dict[int, SimpleNamespace] = {}
    for *columns, needs_review in rows:
        case = listed.get(columns[0])
        if case is None:  # a case's first row holds its newest reading
            case = listed[columns[0]] = SimpleNamespace(**dict(zip(names, columns, strict=True)), ai_flagged=False)
        case.ai_flagged = case.ai_flagged or bool(needs_review)  # any reading flagged it: once flagged, a human looks
    return list(listed.values())


def _claim_tests(radiologist, now: datetime) -> dict:
    # Claims older than REVIEW_CLAIM_MINUTES count as free here, before the sweeper clears them.
    cutoff = review_claim_cutoff(now)

    def live(case) -> bool:
        return (
            case.review_claimed_by_id is not None
            and case.review_claimed_at is not None
            and case.review_claimed_at >= cutoff
        )

    return {
        "unclaimed": lambda case: not live(case),
        "mine": lambda case: live(case) and case.review_claimed_by_id == radiologist.pk,
        "others": lambda case: live(case) and case.review_claimed_by_id != radiologist.pk,
    }


def waiting_since(case: Scan) -> datetime:
    """Since the reading flagged it (or, on sites that hold results, since it was read); else since asked."""
    if case.ai_flagged or settings.HOLD_AI_RESULTS_UNTIL_REVIEW or not case.review_requested_at:
        return case.finished_at or case.created_at
    return case.review_requested_at


def priority(case: Scan, now: datetime) -> float:
    waited_hours = max((now - waiting_since(case)).total_seconds(), 0) / 3600
    return (case.ai_probability or 0.0) + waited_hours / HOURS_PER_PRIORITY_POINT
