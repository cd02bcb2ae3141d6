"""The radiologists' worklist: cases waiting for a human, most urgent first, with filters and counts.

One indexed query a page (ReviewCase's partial index is the worklist's order) and one aggregate for
every filter's count: nothing is loaded into Python but the page shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from reviews.models import ReviewCase, live_claim

Reason = ReviewCase.Reason
# The filters by why a case waits, by the Reason's value; labelled with its words, as the rows' tags are.
REASONS = {
    Reason.URGENT_CARE.value: Q(priority=ReviewCase.Priority.URGENT),
    Reason.PNEUMONIA.value: Q(reason=Reason.PNEUMONIA),
    Reason.INDETERMINATE.value: Q(reason=Reason.INDETERMINATE),
    Reason.POPULATION.value: Q(reason=Reason.POPULATION),
    Reason.SITE_POLICY.value: Q(reason=Reason.SITE_POLICY),
    Reason.REQUESTED.value: Q(requested_at__isnull=False),
    Reason.QC_SAMPLE.value: Q(reason=Reason.QC_SAMPLE),
}
CLAIM_STATES = {"unclaimed": "Free", "mine": "Claimed by you", "others": "Claimed by others"}
# What a row shows: not the scan's other columns, nor the users' password hashes and profiles.
ROW_COLUMNS = (
    "scan_id", "reason", "state", "priority", "requested_at", "waiting_since", "due_at", "claim_expires_at",
    "scan__status", "scan__owner__email", "claimed_by__email", "scan__patient__name", "scan__site_id",
    "scan__site__name", "scan__age_at_scan_months", "scan__symptoms", "scan__illness_days",
    "scan__breaths_per_minute", "scan__patient_sex",
    "prediction__probability", "prediction__label", "prediction__indeterminate", "prediction__model_version",
)  # fmt: skip


@dataclass(frozen=True)
class FilterOption:
    value: str
    label: str
    count: int
    current: bool


class CountedPaginator(Paginator):
    """A paginator told how many items there are: the worklist's aggregate has counted them already."""

    def __init__(self, object_list, per_page: int, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@dataclass
class Worklist:
    cases: QuerySet[ReviewCase]
    counts: dict[str, int]
    reason: str
    claim: str

    def page(self, number, per_page: int) -> Page:
        return CountedPaginator(self.cases, per_page, self.counts["shown"]).get_page(number)

    def reason_options(self) -> list[FilterOption]:
        choices = [("", "All reasons")] + [(name, Reason(name).label) for name in REASONS]
        return [FilterOption(name, label, self.counts[name or "total"], name == self.reason) for name, label in choices]

    def claim_options(self) -> list[FilterOption]:
        choices = [("", "Anyone's")] + list(CLAIM_STATES.items())
        return [FilterOption(name, label, self.counts[name or "total"], name == self.claim) for name, label in choices]


def worklist(radiologist, *, reason: str = "", claim: str = "", now: datetime | None = None) -> Worklist:
    """Cases for this radiologist, filtered by why they wait and who holds them, most urgent first."""
    filters = REASONS | claim_filters(radiologist, now or timezone.now())
    waiting = waiting_cases(radiologist)
    reason = reason if reason in REASONS else ""
    claim = claim if claim in CLAIM_STATES else ""
    chosen_filters = [filters[name] for name in (reason, claim) if name]
    counts = waiting.aggregate(
        total=Count("pk"),
        shown=Count("pk", filter=Q(*chosen_filters)),
        **{name: Count("pk", filter=test) for name, test in filters.items()},
    )
    chosen = waiting.filter(*chosen_filters)
    cases = (
        chosen.select_related("scan__owner", "scan__patient", "scan__site", "claimed_by", "prediction")
        .only(*ROW_COLUMNS)
        .most_urgent_first()
    )
    return Worklist(cases, counts, reason, claim)


def waiting_cases(radiologist) -> QuerySet[ReviewCase]:
    """Cases waiting for review that this radiologist may take: never their own X-ray, and a site's
    only when they read for the site."""
    return ReviewCase.objects.waiting().for_reader(radiologist)


def claim_filters(radiologist, now: datetime) -> dict[str, Q]:
    live = live_claim(now)
    return {
        "unclaimed": ~live,
        "mine": live & Q(claimed_by=radiologist),
        "others": live & ~Q(claimed_by=radiologist),
    }
