import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


def export_path(export: "DataExport", filename: str) -> str:
    # A random name: the file's address says nothing of whose data it holds.
    return f"exports/{uuid.uuid4().hex}.zip"


class DataExport(models.Model):
    """One request for everything the portal holds about a user, built by a worker into a zip."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Being prepared"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Could not be prepared"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="One person's X-rays only (to share with a doctor); empty for everything of the account.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to=export_path, max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it on.")
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["owner", "-requested_at"])]

    def __str__(self) -> str:
        return f"Data export {self.pk} ({self.get_status_display()})"

    @property
    def expires_at(self):
        return self.ready_at + timezone.timedelta(days=settings.EXPORT_KEEP_DAYS) if self.ready_at else None

    @property
    def is_downloadable(self) -> bool:
        return self.status == self.Status.READY and bool(self.file) and timezone.now() < self.expires_at

    @property
    def is_unfinished(self) -> bool:
        return self.status == self.Status.QUEUED

    def get_download_url(self) -> str:
        return reverse("exports:download", args=[self.pk])
