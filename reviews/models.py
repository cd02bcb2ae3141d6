"""The review loop's records: a scan waiting for a radiologist (ReviewCase) and their signed reading
of it (Review), which the patient sees beside the model's."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scans.models import Prediction, Scan

# A day of waiting raises a case as much as the model being certain of pneumonia, so a low-probability
# case the patient asked about is not overtaken for ever by newer suspicious ones.
HOURS_PER_PRIORITY_POINT = 24


def due_at(waiting_since: datetime, probability: float | None) -> datetime:
    """The moment a case counts as due: when it started waiting, brought forward a day for each point of
    probability. Ordering by it is ordering by "probability + days waited", but as a stored column the
    worklist reads off an index instead of computing every waiting case's score on each request."""
    return waiting_since - timedelta(hours=(probability or 0.0) * HOURS_PER_PRIORITY_POINT)


def live_claim(now: datetime) -> Q:
    """A claim a radiologist holds now: one past its expiry counts as free, before the sweeper clears it."""
    return Q(claimed_by__isnull=False, claim_expires_at__gte=now)


class ReviewCaseQuerySet(models.QuerySet):
    def claimed_now(self, now: datetime | None = None):
        return self.filter(live_claim(now or timezone.now()))

    def waiting(self):
        """Cases a radiologist should read and none has signed; not while the scan is being read again.

        The scans being read are a subquery, not a join: the list of waiting cases then never reads
        every scan (a join made PostgreSQL scan all of them to count 10,000 cases among 100,000)."""
        being_read = Scan.objects.filter(status__in=Scan.UNFINISHED).values("pk")
        return self.filter(state=ReviewCase.State.WAITING).exclude(scan__in=being_read)

    def not_of(self, user):
        """Leave out the user's own X-rays (a small subquery on the owner index, as above)."""
        return self.exclude(scan__in=Scan.objects.filter(owner=user).values("pk"))

    def for_reader(self, user):
        """The cases this radiologist may take: patients' uploads (not their own) and the studies of the
        sites they read for. The case carries its scan's site, so this needs no join to the scans."""
        sites_read = user.reading_sites.values("pk")
        return self.not_of(user).filter(Q(site__isnull=True) | Q(site__in=sites_read))

    def most_urgent_first(self):
        return self.order_by("-priority", "due_at", "pk")


class ReviewCase(models.Model):
    """A scan on the radiologists' worklist: why it needs a human, how urgent it is and who holds it.

    Written when a reading or a request puts the scan on the list (reviews.services.open_case), closed
    when a radiologist signs the review. One per scan: a second reason for the same scan updates it.
    """

    class Reason(models.TextChoices):
        # In order of strength: a stronger reason replaces a weaker one as the case's reason.
        URGENT_CARE = "urgent_care", "Danger signs reported"
        PNEUMONIA = "pneumonia", "Pneumonia suspected"
        INDETERMINATE = "indeterminate", "Uncertain reading"
        POPULATION = "population", "Age outside the model's training"
        SITE_POLICY = "site_policy", "Every result is reviewed"
        REQUESTED = "requested", "Asked for by the patient"
        # A random share of the readings the model cleared (settings.QC_SAMPLE_RATE): without them the
        # radiologists' verdicts would describe flagged films only (verification bias).
        QC_SAMPLE = "qc_sample", "Quality-control sample"

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for a radiologist"
        REVIEWED = "reviewed", "Reviewed"

    class Priority(models.IntegerChoices):
        # Tiers, read off the worklist's index in this order whatever the wait: a quality-control sample
        # comes after every routine case, and danger signs before all.
        QC_SAMPLE = 0, "Quality-control sample: after every routine case"
        ROUTINE = 1, "Routine"
        URGENT = 2, "Danger signs: first, whatever the wait"

    scan = models.OneToOneField(Scan, on_delete=models.CASCADE, related_name="review_case")
    # The scan's site, copied: the worklist decides who may take a case from its own row and index.
    site = models.ForeignKey(
        "hospitals.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.WAITING)
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.ROUTINE, help_text="Higher tiers come first, whatever the wait."
    )
    prediction = models.ForeignKey(
        Prediction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The latest reading when the case was opened or last updated.",
    )
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When the patient asked for a review.")
    sampling_probability = models.FloatField(
        default=1.0,
        help_text="The chance that a reading like this one reaches the worklist: 1 for a flagged reading, the "
        "sampling rate for a quality-control sample, 0 when only the patient's request put it there (no known "
        "chance). Adaptation and the calibration figures weight the verdict by its inverse (0: left out).",
    )
    waiting_since = models.DateTimeField(help_text="Since the reading flagged it, or since the patient asked.")
    due_at = models.DateTimeField(help_text="Waiting since, brought forward a day per point of probability.")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_cases",
        help_text="The radiologist reviewing the case now.",
    )
    claim_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this, another radiologist may take the case over."
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ReviewCaseQuerySet.as_manager()

    class Meta:
        # The worklist's order, for waiting cases only: a page is read off the index, never sorted.
        indexes = [
            models.Index(
                fields=["-priority", "due_at", "id"], name="waiting_cases_by_urgency", condition=Q(state="waiting")
            )
        ]

    def __str__(self):
        return f"Review case for scan {self.scan_id} ({self.get_state_display()})"

    @property
    def urgent(self) -> bool:
        return self.priority == self.Priority.URGENT

    @property
    def reasons_shown(self) -> list[ReviewCase.Reason]:
        """Why the case waits, as the worklist tags it: danger signs, the case's own reason, the patient's
        request. Each is a Reason, so the tag's words are the Reason's label wherever it is shown."""
        shown = [self.Reason.URGENT_CARE] if self.urgent else []
        if self.reason not in (self.Reason.URGENT_CARE, self.Reason.REQUESTED):
            shown.append(self.Reason(self.reason))
        if self.requested_at:
            shown.append(self.Reason.REQUESTED)
        return shown

    @property
    def ai_probability(self) -> float | None:
        return self.prediction.probability if self.prediction else None

    @property
    def score(self) -> float:
        """Probability plus a point a day of waiting: what due_at orders by, as a number to show."""
        return (timezone.now() - self.due_at).total_seconds() / 3600 / HOURS_PER_PRIORITY_POINT

    def claim_holder(self, now: datetime | None = None):
        """The radiologist holding a live claim on the case (live_claim, on the row in hand), or None."""
        if self.claimed_by_id and self.claim_expires_at and self.claim_expires_at >= (now or timezone.now()):
            return self.claimed_by
        return None


class Review(models.Model):
    class Finding(models.TextChoices):
        # Translators: a radiologist's finding, shown to the parent (and in lower case in the image's text).
        PNEUMONIA = "pneumonia", _("Pneumonia")
        NO_PNEUMONIA = "no_pneumonia", _("No pneumonia")
        # Translators: the radiologist could not decide; "repeat imaging" means another X-ray.
        INCONCLUSIVE = "inconclusive", _("Inconclusive — repeat imaging advised")

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="reviews")
    # PROTECT: a radiologist who signed reviews is deactivated, never deleted, so the record keeps its author.
    radiologist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    prediction = models.ForeignKey(
        Prediction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
        help_text="The model's reading the radiologist saw; agreement is measured against it.",
    )
    finding = models.CharField(max_length=16, choices=Finding.choices)
    patient_note = models.TextField("note to the patient", blank=True)
    internal_note = models.TextField(
        "internal note", blank=True, help_text="For clinicians only; never shown to the patient."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["scan"], name="one_review_per_scan")]

    def __str__(self):
        return f"{self.get_finding_display()} for scan {self.scan_id}"

    @property
    def agrees_with_ai(self) -> bool | None:
        """Derived, never typed: None when the radiologist could not decide or there was no reading."""
        if self.finding == self.Finding.INCONCLUSIVE or self.prediction is None:
            return None
        return (self.finding == self.Finding.PNEUMONIA) == (self.prediction.label == Prediction.Label.PNEUMONIA)


def reached_by_reviewing(user) -> Q:
    """What reviewing lets a radiologist see, as a filter on scans: the waiting cases they may take, the
    scans they reviewed and, while they hold a case, that patient's other X-rays. The one place scans'
    visibility (actions.scans.visible_scans) learns of the review loop."""
    held = ReviewCase.objects.filter(claimed_by=user, claim_expires_at__gte=timezone.now())
    return (
        Q(pk__in=ReviewCase.objects.waiting().for_reader(user).values("scan"))
        | Q(pk__in=Review.objects.filter(radiologist=user).values("scan"))
        | Q(patient__in=held.values("scan__patient"))
    )


def review_case_of(scan: Scan) -> ReviewCase | None:
    """The scan's case, waiting or reviewed (with_latest_prediction loaded it with the scan), or None."""
    try:
        return scan.review_case
    except ReviewCase.DoesNotExist:
        return None


def waiting_case_of(scan: Scan) -> ReviewCase | None:
    """The scan's case while it waits on the worklist, or None."""
    case = review_case_of(scan)
    return case if case is not None and case.state == ReviewCase.State.WAITING else None
