"""A site's labelled local films (ReferenceCase), the reading heads fitted on them (ReadingHead), and the
staff's requests to import films (ReferenceImport) or fit a head (AdaptationRun).

Rows with no site belong to the installation: the patients' uploads and any site without its own head.
"""

from __future__ import annotations

import uuid

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ml.heads import Head


class Label(models.TextChoices):
    NORMAL = "normal", "Normal"
    PNEUMONIA = "pneumonia", "Pneumonia"


def head_label(site_id: int | None, number: int) -> str:
    """What a head adds to the network's version in a reading's model_version."""
    return f"+site-{site_id}.{number}" if site_id else f"+local.{number}"


class ReferenceCaseQuerySet(models.QuerySet):
    def of(self, site):
        """The site's cases, or the installation's for None (a site's own cases never mix in)."""
        return self.filter(site=site) if site is not None else self.filter(site__isnull=True)

    def for_fitting(self, network_version: str):
        """Cases whose logit and embedding this network computed, and that may weigh on a fit."""
        return self.filter(base_model_version=network_version, weight__gt=0)


class ReferenceCase(models.Model):
    """One labelled film of a site: the network's logit and embedding of it, and the truth."""

    class Source(models.TextChoices):
        IMPORT = "import", "Imported film"
        REVIEW = "review", "Radiologist's review"

    site = models.ForeignKey(
        "hospitals.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Empty: the installation's (patients' uploads and sites without a head of their own).",
    )  # fmt: skip
    label = models.CharField(max_length=16, choices=Label.choices)
    logit = models.FloatField(help_text="The network's raw output for the film.")
    embedding = models.BinaryField(editable=False, help_text="The network's pooled features, float32.")
    embedding_distance = models.FloatField(null=True, blank=True)
    content_sha256 = models.CharField(
        max_length=64, help_text="Of the imported file, or of a reviewed scan's stored image: a film counts once."
    )
    group_key = models.CharField(
        max_length=200, help_text="The patient: no patient's films fall in two cross-validation folds."
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    # CASCADE: a case learned from a patient's scan goes when the scan is deleted.
    scan = models.OneToOneField(
        "scans.Scan", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="The reviewed scan; a later review of it replaces the label.",
    )  # fmt: skip
    weight = models.FloatField(
        default=1.0, help_text="1 / the chance the film was reviewed; 1 for imports, 0 to keep out of fitting."
    )
    base_model_version = models.CharField(
        max_length=64, db_index=True, help_text="The network that computed the logit and embedding."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ReferenceCaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # A NULL site is distinct from every other NULL in a plain unique constraint (SQL), so the
        # installation's films get a constraint of their own.
        constraints = [
            models.UniqueConstraint(
                fields=["site", "content_sha256"], condition=Q(site__isnull=False), name="one_reference_film_per_site"
            ),
            models.UniqueConstraint(
                fields=["content_sha256"], condition=Q(site__isnull=True), name="one_reference_film_installation"
            ),
        ]

    def __str__(self):
        return f"{self.get_label_display()} film {self.content_sha256[:12]} ({self.get_source_display()})"

    @property
    def embedding_vector(self) -> np.ndarray:
        return np.frombuffer(bytes(self.embedding), dtype=np.float32)


class ReadingHeadQuerySet(models.QuerySet):
    def of(self, site):
        return self.filter(site=site) if site is not None else self.filter(site__isnull=True)


class ReadingHead(models.Model):
    """A head fitted on a site's reference cases, with the report that judged it; at most one per site
    (and one for the installation) is active, and only that one reads new films."""

    site = models.ForeignKey("hospitals.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(help_text="1, 2, ... per site: the head's name in readings' versions.")
    head = models.JSONField(help_text="ml.heads.Head.as_dict()")
    report = models.JSONField(help_text="ml.adaptation.AdaptationReport.as_dict(): the figures it was judged on.")
    base_model_version = models.CharField(max_length=64, help_text="The network whose logit and embedding it reads.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=False)

    objects = ReadingHeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "number"], condition=Q(site__isnull=False), name="one_head_number_per_site"
            ),
            models.UniqueConstraint(
                fields=["number"], condition=Q(site__isnull=True), name="one_head_number_installation"
            ),
            models.UniqueConstraint(
                fields=["site"], condition=Q(active=True, site__isnull=False), name="one_active_head_per_site"
            ),
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True, site__isnull=True), name="one_active_head_installation"
            ),
        ]

    def __str__(self):
        return f"Reading head {self.label}"

    @property
    def label(self) -> str:
        return head_label(self.site_id, self.number)

    @property
    def version(self) -> str:
        return self.base_model_version + self.label

    @property
    def refusal(self) -> str | None:
        return self.report.get("refusal")

    @property
    def may_activate(self) -> bool:
        return self.refusal is None

    def as_head(self) -> Head:
        return Head.from_dict(self.head)


def reference_zip_path(instance: ReferenceImport, filename: str) -> str:
    return f"reference-imports/{uuid.uuid4().hex}.zip"


class Job(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class StaffJob(models.Model):
    """Work staff asked for on a page, done by a worker: who asked, for which site, and how it stands."""

    Status = Job

    site = models.ForeignKey("hospitals.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_unfinished(self) -> bool:
        return self.status in (Job.QUEUED, Job.RUNNING)


class ReferenceImport(StaffJob):
    """A zip of NORMAL/ and PNEUMONIA/ films uploaded by staff, read by a worker film by film."""

    file = models.FileField(upload_to=reference_zip_path, max_length=255)
    original_filename = models.CharField(max_length=255)
    films = models.PositiveIntegerField(default=0, help_text="Films in the zip.")
    counts = models.JSONField(default=dict, help_text="Per class: imported, already there, refused.")
    refused = models.JSONField(default=list, help_text="[{name, reason}] of the films not imported.")
    message = models.TextField(blank=True, help_text="Why the import failed, in plain words.")

    def __str__(self):
        return f"Reference import {self.pk} ({self.get_status_display()})"

    @property
    def done(self) -> int:
        return sum(sum(by_outcome.values()) for by_outcome in self.counts.values())

    def start(self) -> None:
        """Queue the import for a worker once the upload commits."""
        from portal.celery import send_after_commit

        send_after_commit(IMPORT_TASK, import_id=self.pk)


class AdaptationRun(StaffJob):
    """Staff asked for a head to be fitted on a site's reference cases; the worker's report lands here."""

    report = models.JSONField(null=True, blank=True)
    reading_head = models.ForeignKey(
        ReadingHead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The head it fitted (none when too few cases to fit one).",
    )  # fmt: skip
    message = models.TextField(blank=True)

    def __str__(self):
        return f"Adaptation run {self.pk} ({self.get_status_display()})"

    def start(self) -> None:
        from portal.celery import send_after_commit

        send_after_commit(ADAPT_TASK, run_id=self.pk)


# Queued by name (adaptation/tasks.py registers them): the web publishes, the worker's code runs them.
IMPORT_TASK = "adaptation.tasks.import_reference_zip"
ADAPT_TASK = "adaptation.tasks.run_adaptation"
