"""A patient's uploaded chest X-ray (Scan) and the model's reading of it (Prediction)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone


def scan_image_path(scan: Scan, filename: str) -> str:
    # Never the uploader's name: a generated one, grouped by month.
    return f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


def heatmap_path(prediction: Prediction, filename: str) -> str:
    return f"heatmaps/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


class ScanQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_staff or user.is_radiologist:
            return self
        return self.filter(owner=user)

    def unfinished(self):
        return self.filter(status__in=Scan.UNFINISHED)

    def with_latest_prediction(self):
        return self.select_related("owner").prefetch_related(
            models.Prefetch("predictions", queryset=Prediction.objects.order_by("-created_at"))
        )


class Scan(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    UNFINISHED = (Status.QUEUED, Status.PROCESSING)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the scan failed or was rejected, in plain words.")
    image = models.FileField(upload_to=scan_image_path, max_length=255)
    original_filename = models.CharField(max_length=255)
    source_format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started inference.")
    claimed_by = models.CharField(max_length=64, blank=True, help_text="Task id of the worker holding the scan.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"]), models.Index(fields=["status", "queued_at"])]

    def __str__(self):
        return f"Scan {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("scans:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def latest_prediction(self) -> Prediction | None:
        # Uses the prefetched, newest-first list when with_latest_prediction() loaded it.
        predictions = list(self.predictions.all())
        if predictions and hasattr(self, "_prefetched_objects_cache"):
            return predictions[0]
        return self.predictions.order_by("-created_at").first()

    def start_inference(self) -> None:
        """Queue the scan for the worker; the message is sent only once the transaction commits."""
        from inference.tasks import run_inference

        now = timezone.now()
        Scan.objects.filter(pk=self.pk).update(status=self.Status.QUEUED, status_reason="", queued_at=now)
        self.status, self.status_reason, self.queued_at = self.Status.QUEUED, "", now
        run_inference.delay_on_commit(scan_id=self.pk)

    def delete_with_files(self) -> None:
        """Delete the row, its predictions and every stored file, once the deletion commits."""
        names = [self.image.name] + [p.heatmap.name for p in self.predictions.all() if p.heatmap]
        storage = self.image.storage
        with transaction.atomic():
            self.delete()
            transaction.on_commit(lambda: [storage.delete(name) for name in names if name])


class Prediction(models.Model):
    class Label(models.TextChoices):
        NORMAL = "normal", "No pneumonia detected"
        PNEUMONIA = "pneumonia", "Pneumonia suspected"

    scan = models.ForeignKey(Scan, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.CharField(max_length=64)
    probability = models.FloatField(help_text="Calibrated probability of pneumonia.")
    label = models.CharField(max_length=16, choices=Label.choices)
    needs_review = models.BooleanField(
        help_text="Pneumonia suspected or indeterminate: a radiologist should look at it."
    )
    indeterminate = models.BooleanField(default=False)
    heatmap = models.FileField(upload_to=heatmap_path, max_length=255, blank=True)
    inference_ms = models.FloatField(help_text="Time the model took, in milliseconds.")
    queue_ms = models.FloatField(help_text="Time from queueing to the start of inference, in milliseconds.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "model_version"], name="one_prediction_per_scan_and_model")
        ]

    def __str__(self):
        return f"{self.get_label_display()} ({self.probability:.0%}) for scan {self.scan_id}"

    @property
    def percent(self) -> int:
        return round(self.probability * 100)

    @property
    def band(self) -> str:
        if self.indeterminate:
            return "indeterminate"
        return self.label
