"""A radiologist's reading of a scan (Review), which the patient sees beside the model's."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from scans.models import Prediction, Scan


class Review(models.Model):
    class Finding(models.TextChoices):
        PNEUMONIA = "pneumonia", "Pneumonia"
        NO_PNEUMONIA = "no_pneumonia", "No pneumonia"
        INCONCLUSIVE = "inconclusive", "Inconclusive \u2014 repeat imaging advised"

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
