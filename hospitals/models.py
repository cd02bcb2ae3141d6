"""Hospitals and clinics that send X-rays over DICOM (Site), where their studies came from (DicomOrigin)
and the results sent back to them (ResultDelivery)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

# DICOM AE titles: up to 16 characters of the default repertoire, no backslash or control characters.
AE_TITLE = RegexValidator(r"^[\x20-\x5b\x5d-\x7e]{1,16}$", "An AE title is 1 to 16 plain characters, no backslash.")


# A site has a destination for its results when all three parts are set (a constraint keeps them all or
# none); the property below, the queryset and the constraint all read this one condition.
HAS_DESTINATION = ~Q(destination_ae_title="") & ~Q(destination_host="") & Q(destination_port__isnull=False)


class SiteQuerySet(models.QuerySet):
    def with_destination(self):
        """The sites whose results go back to their PACS."""
        return self.filter(HAS_DESTINATION)

    def read_by(self, user):
        """The sites whose X-rays this user reads (is one of their readers)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(readers=user)


class Site(models.Model):
    """A hospital or clinic that sends studies from its PACS or modalities. Its studies belong to it, not to
    a patient account; its readers (radiologists) see them all and work its cases on the worklist."""

    name = models.CharField(max_length=200, unique=True)
    readers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="reading_sites",
        limit_choices_to={"role": "radiologist"},
        help_text="Radiologists who see every study of this site and review its flagged cases.",
    )
    service_account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_site",
        help_text="The account whose API token the site's systems use for DICOMweb (STOW-RS).",
    )
    destination_ae_title = models.CharField(
        "results AE title", max_length=16, blank=True, validators=[AE_TITLE],
        help_text="Where results go by C-STORE (the site's PACS). Leave empty to send nothing.",
    )  # fmt: skip
    destination_host = models.CharField("results host", max_length=255, blank=True)
    destination_port = models.PositiveIntegerField(
        "results port", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    is_active = models.BooleanField(default=True, help_text="Inactive sites' associations are refused.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # A destination is all three parts or none.
            models.CheckConstraint(
                condition=Q(destination_ae_title="", destination_host="", destination_port__isnull=True)
                | HAS_DESTINATION,
                name="site_destination_complete_or_empty",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def has_destination(self) -> bool:
        # HAS_DESTINATION, read off the row in hand rather than asked of the database.
        return self.destination_ae_title != "" and self.destination_host != "" and self.destination_port is not None

    @property
    def destination(self) -> str:
        """Where results go, as the admin and the logs name it: "AE_TITLE@host:port", or "" for nowhere."""
        if not self.has_destination:
            return ""
        return f"{self.destination_ae_title}@{self.destination_host}:{self.destination_port}"


class SiteAETitle(models.Model):
    """A calling AE title the site's devices send from; any other is refused at association."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="ae_titles")
    ae_title = models.CharField("AE title", max_length=16, unique=True, validators=[AE_TITLE])
    host = models.GenericIPAddressField(
        null=True, blank=True, help_text="If set, associations with this AE title are accepted from this address only."
    )

    class Meta:
        verbose_name = "calling AE title"
        ordering = ["ae_title"]

    def __str__(self):
        return self.ae_title


class DicomOrigin(models.Model):
    """What addresses results back to the site: the original UIDs, accession and patient identifiers,
    kept apart from the de-identified copy. Only the site's readers and staff see it; each access is
    audited (hospitals.access)."""

    class Via(models.TextChoices):
        C_STORE = "c-store", "DICOM C-STORE"
        STOW_RS = "stow-rs", "DICOMweb STOW-RS"

    scan = models.OneToOneField("scans.Scan", on_delete=models.CASCADE, related_name="dicom_origin")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="origins")
    study_instance_uid = models.CharField(max_length=64)
    series_instance_uid = models.CharField(max_length=64)
    sop_instance_uid = models.CharField(max_length=64)
    sop_class_uid = models.CharField(max_length=64)
    accession_number = models.CharField(max_length=16, blank=True, db_index=True)
    study_id = models.CharField(max_length=16, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    patient_name = models.CharField(max_length=324, blank=True)
    patient_birth_date = models.DateField(null=True, blank=True)
    patient_sex = models.CharField(max_length=1, blank=True)
    study_date = models.DateField(null=True, blank=True)
    study_time = models.TimeField(null=True, blank=True)
    referring_physician_name = models.CharField(max_length=324, blank=True)
    calling_ae_title = models.CharField(max_length=16, blank=True)
    received_via = models.CharField(max_length=8, choices=Via.choices)
    received_at = models.DateTimeField(default=timezone.now, help_text="When the last byte of the instance arrived.")

    class Meta:
        constraints = [
            # A study sent twice is read once: the same instance from the same site is the same scan.
            models.UniqueConstraint(fields=["site", "sop_instance_uid"], name="one_scan_per_site_instance")
        ]

    def __str__(self):
        return f"{self.site} accession {self.accession_number or '(none)'} (scan {self.scan_id})"

    @property
    def patient_display_name(self) -> str:
        """DICOM's Family^Given^Middle^Prefix^Suffix as a reader writes it: "Doe, Jane"."""
        family, given, middle, *_ = (self.patient_name.split("=")[0].split("^") + ["", "", ""])[:5]
        first_names = " ".join(part for part in (given, middle) if part)
        return ", ".join(part for part in (family, first_names) if part)


class ResultDelivery(models.Model):
    """One result object (SR or heatmap) for one revision of a scan's result, sent to the site's PACS."""

    class Kind(models.TextChoices):
        STRUCTURED_REPORT = "sr", "Structured report"
        HEATMAP = "heatmap", "Heatmap (secondary capture)"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed after every retry"

    scan = models.ForeignKey("scans.Scan", on_delete=models.CASCADE, related_name="result_deliveries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    revision = models.PositiveSmallIntegerField(help_text="1 for the AI reading; 2 once a radiologist has signed.")
    sop_instance_uid = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    destination = models.CharField(max_length=300, help_text="AE title@host:port it was sent to.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "result deliveries"
        constraints = [
            models.UniqueConstraint(fields=["scan", "kind", "revision"], name="one_delivery_per_result_revision")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} r{self.revision} of scan {self.scan_id}: {self.get_state_display()}"


class ListenerStatus(models.Model):
    """What one running C-STORE listener holds and has refused, written by the listener itself every
    DICOM_STATUS_SECONDS, so that /metrics (another process) shows a flood."""

    listener = models.CharField(max_length=255, unique=True, help_text="host:pid of the listener process")
    waiting = models.PositiveIntegerField(default=0, help_text="connections that have not asked for an association")
    associations = models.PositiveIntegerField(default=0, help_text="associations open or being negotiated")
    refusals = models.JSONField(default=dict, help_text="connections refused or closed since it started, by reason")
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name_plural = "listener statuses"

    def __str__(self):
        return f"{self.listener}: {self.associations} associations, {self.waiting} waiting"
