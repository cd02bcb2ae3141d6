"""A patient's uploaded chest X-ray (Scan) and the model's reading of it (Prediction)."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from scans import clinical

log = logging.getLogger(__name__)


def scan_image_path(scan: Scan, filename: str) -> str:
    # Never the uploader's name: a generated one, grouped by month.
    return f"scans/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


def dicom_path(scan: Scan, filename: str) -> str:
    return f"dicom/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.dcm"


def heatmap_path(prediction: Prediction, filename: str) -> str:
    return f"heatmaps/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


# Translators: names of DICOM fields kept in a parent's de-identified copy, shown with their values.
DICOM_KEPT_LABELS = {
    "StudyDescription": _("Study description"),
    "ViewPosition": _("View position"),
    "Modality": _("Modality"),
    "BodyPartExamined": _("Body part"),
    "PatientAge": _("Age at the X-ray"),
    "PatientSex": _("Sex"),
}


def whole_percent(probability: float) -> int:
    return round(probability * 100)


def sees_every_scan(user) -> bool:
    """Superusers, and staff given the permission to view scans."""
    return user.is_superuser or (user.is_staff and user.has_perm("scans.view_scan"))


class ScanQuerySet(models.QuerySet):
    # Who may see a scan is actions.scans.visible_scans: it needs the review loop (reviews) and the sites'
    # identifiers (hospitals), which build on this app.

    def of_account_or_sites_read_by(self, user):
        """The user's own uploads and the studies of the sites they read for (not what reviewing reaches)."""
        return self.filter(Q(owner=user) | Q(site__in=user.reading_sites.values("pk")))

    def latest_probabilities(self):
        """(uploaded at, probability of the newest reading) of each scan that has a reading, as plain
        tuples: the history's trend line needs two columns, not scans with their readings prefetched."""
        newest = Prediction.objects.filter(scan=OuterRef("pk")).order_by("-created_at").values("probability")[:1]
        return (
            self.annotate(latest_probability=Subquery(newest))
            .exclude(latest_probability=None)
            .values_list("created_at", "latest_probability")
        )

    def with_reading_visible_to(self, user):
        """The scans whose reading Scan.reading_for would show this user (the same rule, as a filter)."""
        visible = self.filter(status=Scan.Status.DONE)
        if settings.HOLD_AI_RESULTS_UNTIL_REVIEW:
            visible = visible.exclude(Q(owner=user) & Q(reviews=None))
        return visible

    def with_latest_prediction(self):
        """With the owner (or site and its DicomOrigin), the review case, and the readings
        and reviews (newest first, as their models order them) with the reviewers, in four queries."""
        return self.select_related("owner", "site", "dicom_origin", "review_case").prefetch_related(
            "predictions", "reviews__radiologist"
        )

    def with_readings(self):
        """With the readings and reviews, newest first, in two more queries and no joins: a patient's list
        of their own scans shows neither the owner nor who reviewed or holds them (with_latest_prediction's
        joins cost the history page 3.6 ms of 16)."""
        return self.prefetch_related("predictions", "reviews")


class Scan(models.Model):
    class Status(models.TextChoices):
        # Translators: the status badge of an uploaded X-ray (waiting in line for the computer reading).
        QUEUED = "queued", pgettext_lazy("scan status", "Queued")
        PROCESSING = "processing", pgettext_lazy("scan status", "Processing")
        DONE = "done", pgettext_lazy("scan status", "Done")
        FAILED = "failed", pgettext_lazy("scan status", "Failed")
        # Translators: the image was refused as not a chest X-ray.
        REJECTED = "rejected", pgettext_lazy("scan status", "Rejected")

    UNFINISHED = (Status.QUEUED, Status.PROCESSING)

    # A scan belongs either to an account (a parent's upload, for one of their profiles) or to a site
    # (a hospital's study, received over DICOM): never both, never neither (Meta.constraints).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    # RESTRICT: a profile goes only with its X-rays (deleting the account removes both together).
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.RESTRICT, related_name="scans"
    )
    site = models.ForeignKey(
        "hospitals.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="scans",
        help_text="The hospital or clinic that sent the study over DICOM.",
    )  # fmt: skip
    age_at_scan_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="From the DICOM's age or birth date, else the profile's date of birth."
    )
    patient_sex = models.CharField(max_length=1, blank=True, help_text="From a DICOM's PatientSex (M, F or O).")
    symptoms = models.JSONField(default=list, blank=True, help_text="Codes of scans.clinical.Symptom.")
    illness_days = models.PositiveSmallIntegerField("days of illness", null=True, blank=True)
    breaths_per_minute = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    status_reason = models.TextField(blank=True, help_text="Why the scan failed or was rejected, in plain words.")
    image = models.FileField(upload_to=scan_image_path, max_length=255)
    original_filename = models.CharField(max_length=255)
    dicom_file = models.FileField(
        upload_to=dicom_path, max_length=255, blank=True, help_text="The uploaded DICOM, de-identified."
    )
    dicom_summary = models.JSONField(
        null=True, blank=True, help_text="What de-identification kept, removed and replaced (keywords only)."
    )
    accession_number = models.CharField(
        max_length=16, blank=True, db_index=True,
        help_text="A parent's DICOM upload: its original Accession Number, so they can find it by it. "
        "A site's study keeps its own in hospitals.DicomOrigin.",
    )  # fmt: skip
    source_format = models.CharField(max_length=16)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started inference.")
    # The worker's hold on the scan while it reads it ("taken"); a radiologist's hold on a review is a
    # claim, on the scan's ReviewCase. Two different things, two different names.
    worker_task_id = models.CharField(max_length=64, blank=True, help_text="Task id of the worker reading the scan.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result_notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the patient was emailed that the result is ready (once only)."
    )

    objects = ScanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # A patient's history, in the order it is shown: PostgreSQL reads a page off the index, unsorted.
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"]),
            models.Index(fields=["status", "queued_at"]),
            models.Index(fields=["site", "-created_at", "-id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, patient__isnull=False, site__isnull=True)
                | Q(owner__isnull=True, patient__isnull=True, site__isnull=False),
                name="scan_belongs_to_an_account_or_a_site",
            )
        ]

    def __str__(self):
        return f"Scan {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("scans:detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def danger_signs(self) -> list[str]:
        return clinical.danger_signs(self.symptoms, self.breaths_per_minute, self.age_at_scan_months)

    @property
    def urgent_care(self) -> str | None:
        """Seek care now, and why, when danger signs were reported: independent of the model."""
        return clinical.urgent_care(self.danger_signs)

    @property
    def population_warning(self) -> str | None:
        return clinical.population_warning(self.age_at_scan_months)

    @property
    def subject_name(self) -> str:
        """Whose X-ray, as a page names it: the profile's name, or for a site's study the site's (the
        patient's identity stays in hospitals.DicomOrigin, shown to the site's readers apart)."""
        if self.site_id:
            # Translators: whose X-ray, for a study a hospital sent; site is the hospital's name.
            return gettext("A %(site)s patient") % {"site": self.site.name}
        return self.patient.display_name

    @property
    def shown_status_reason(self) -> str:
        """Why the scan failed or was refused, in the reader's language. The worker stores the English
        sentence (it has no reader); the model's and the worker's sentences are in the catalogues, so the
        ones without figures in them translate. One with figures (a size, a modality) stays English."""
        return gettext(self.status_reason) if self.status_reason else ""

    def text_alternative(self, prediction: Prediction | None, review=None) -> str:
        """The X-ray's text alternative on the scan page (WCAG 1.1.1), for the PNG image and the
        diagnostic viewer alike: what it is and the reading shown beside it (prediction is what
        reading_for gave this reader, so a held reading stays out of it)."""
        words = {"uploaded": formats.date_format(timezone.localtime(self.created_at), "DATE_FORMAT")}
        if review is not None:
            words["finding"] = review.get_finding_display().lower()
        if prediction is not None and self.status == self.Status.DONE:
            words |= {"band": prediction.band_words.lower(), "percent": prediction.display_percent}
            if review is not None:
                return gettext(
                    # Translators: text alternative of the X-ray for screen readers; band is the reading
                    # in lower case (e.g. "uncertain"), finding the radiologist's (e.g. "no pneumonia").
                    "Chest X-ray uploaded %(uploaded)s, computer reading: %(band)s, %(percent)s chance of "
                    "pneumonia, radiologist's finding: %(finding)s"
                ) % words
            return gettext(
                "Chest X-ray uploaded %(uploaded)s, computer reading: %(band)s, %(percent)s chance of pneumonia"
            ) % words
        if review is not None:
            return gettext("Chest X-ray uploaded %(uploaded)s, radiologist's finding: %(finding)s") % words
        return gettext("Chest X-ray uploaded %(uploaded)s") % words

    @property
    def sent_by(self) -> str:
        """Who sent the X-ray: the parent's account, or the site."""
        return self.site.name if self.site_id else self.owner.email

    @property
    def age_label(self) -> str:
        """The age at the X-ray in words: "7 months", "3 years", "age unknown"."""
        return clinical.age_words(self.age_at_scan_months)

    @property
    def symptom_labels(self) -> list[str]:
        """The everyday symptoms reported, in words; danger signs are shown apart (danger_signs)."""
        return [symptom.label for symptom in clinical.EVERYDAY_SYMPTOMS if symptom in self.symptoms]

    @property
    def dicom_kept(self) -> list[tuple[str, str]]:
        """What de-identification kept of a DICOM upload, as (label, value) pairs for the patient."""
        kept = (self.dicom_summary or {}).get("kept", {})
        return [(label, kept[keyword]) for keyword, label in DICOM_KEPT_LABELS.items() if kept.get(keyword)]

    @property
    def latest_prediction(self) -> Prediction | None:
        # Prediction's default ordering is newest first, so this reads the list with_latest_prediction()
        # prefetched, or makes one query when nothing was prefetched (a scan has one per model version).
        return next(iter(self.predictions.all()), None)

    @property
    def latest_review(self):
        # Uses the prefetched, newest-first list when with_latest_prediction() loaded it.
        if "reviews" in getattr(self, "_prefetched_objects_cache", {}):
            reviews = self.reviews.all()
            return reviews[0] if reviews else None
        return self.reviews.order_by("-created_at").first()

    def ai_held_from(self, user) -> bool:
        """The site holds the model's reading back from this patient until a radiologist has reviewed it."""
        return settings.HOLD_AI_RESULTS_UNTIL_REVIEW and user.pk == self.owner_id and self.latest_review is None

    def reading_for(self, user) -> Prediction | None:
        """The one rule for "may this user see the AI reading of this scan", used by every page, the API,
        the report, the export and the heatmap files: the latest reading, once the scan is done (not while
        a re-run is under way), unless the site holds it back from this patient until review.
        ScanQuerySet.with_reading_visible_to is the same rule for a list."""
        if self.status != self.Status.DONE or self.ai_held_from(user):
            return None
        return self.latest_prediction

    def start_inference(self) -> None:
        """Queue the scan for the worker; the message is sent only once the transaction commits."""
        now = timezone.now()
        Scan.objects.filter(pk=self.pk).update(status=self.Status.QUEUED, status_reason="", queued_at=now)
        self.status, self.status_reason, self.queued_at = self.Status.QUEUED, "", now
        from portal.celery import send_after_commit

        # A broker that is down leaves the scan queued: requeue_stuck_scans sends every scan queued too long.
        send_after_commit(RUN_INFERENCE_TASK, scan_id=self.pk)

    def rerun_with_current_model(self) -> None:
        """Queue a finished scan again, as a new request: its attempts start from zero, so a scan that
        failed after every attempt (a worker bug since fixed, a model that could not load) can succeed.
        The readings it has keep their model versions; the current model adds its own."""
        Scan.objects.filter(pk=self.pk).update(attempts=0)
        self.attempts = 0
        self.start_inference()

    def delete_with_files(self) -> None:
        """Delete the row, its predictions and every stored file, once the deletion commits."""
        names = [
            self.image.name,
            self.dicom_file.name,
            *DicomInstance.objects.filter(scan=self).values_list("capture", flat=True),
        ]
        names += [prediction.heatmap.name for prediction in self.predictions.all() if prediction.heatmap]
        storage = self.image.storage
        with transaction.atomic():
            self.delete()
            transaction.on_commit(lambda: [storage.delete(name) for name in names if name])


RUN_INFERENCE_TASK = "inference.tasks.run_inference"


class Prediction(models.Model):
    """One model version's stored reading of one scan: what the worker saved of ml.predictor.Reading,
    the model's in-memory answer (a Reading that refused the image becomes the scan's status instead)."""

    class Label(models.TextChoices):
        # Translators: the computer reading's two labels; shown capitalised and, in sentences, in lower case.
        NORMAL = "normal", _("No pneumonia detected")
        PNEUMONIA = "pneumonia", _("Pneumonia suspected")

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
    # The network's raw outputs, before the head: a review of this scan can then teach a site's head
    # (adaptation.ReferenceCase) without reading the film again, and drift is watched on the distance.
    logit = models.FloatField(null=True, blank=True, help_text="The network's raw output, before the reading head.")
    embedding = models.BinaryField(
        null=True, blank=True, editable=False, help_text="The network's pooled features, float32."
    )
    embedding_distance = models.FloatField(
        null=True, blank=True, help_text="Mahalanobis distance of the film's features to the training films' (drift)."
    )
    queue_ms = models.FloatField(help_text="Time from queueing to the start of inference, in milliseconds.")
    # The operating point of the head that read it (shipped or a site's): the page states the uncertain
    # range the reading was judged by, whichever head that was.
    threshold = models.FloatField(null=True, blank=True, help_text="Pneumonia from this probability.")
    review_from = models.FloatField(null=True, blank=True, help_text="Indeterminate from this probability.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["scan", "model_version"], name="one_prediction_per_scan_and_model")
        ]

    def __str__(self):
        return f"{self.get_label_display()} ({self.display_percent}) for scan {self.scan_id}"

    @property
    def display_percent(self) -> str:
        return clinical.percent_words(self.probability)

    @property
    def natural_frequency(self) -> str:
        """The calibrated probability as a count of X-rays a parent can picture."""
        tenths = round(self.probability * 10)
        # Translators: natural frequencies, a probability as a count a parent can picture. Keep the
        # shape "Of X-rays ..., about N in 10 showed pneumonia" and the numbers as digits.
        if self.probability >= 0.95:
            return gettext(
                "Of X-rays the computer reads like this one, more than 9 in 10 showed pneumonia "
                "(in the children aged one to five it was tested on)."
            )
        if tenths >= 1:
            # Translators: count is 1 to 9: "about 3 in 10".
            return gettext(
                "Of X-rays the computer reads like this one, about %(count)s in 10 showed pneumonia "
                "(in the children aged one to five it was tested on)."
            ) % {"count": tenths}
        if self.probability >= 0.01:
            # Translators: count is 1 to 5: "about 4 in 100".
            return gettext(
                "Of X-rays the computer reads like this one, about %(count)s in 100 showed pneumonia "
                "(in the children aged one to five it was tested on)."
            ) % {"count": max(round(self.probability * 100), 1)}
        return gettext(
            "Of X-rays the computer reads like this one, fewer than 1 in 100 showed pneumonia "
            "(in the children aged one to five it was tested on)."
        )

    @property
    def review_band_percent(self) -> tuple[int, int] | None:
        """The uncertain range this reading was judged by, in whole percent, when it was recorded."""
        if self.review_from is None or self.threshold is None:
            return None
        return round(self.review_from * 100), round(self.threshold * 100)

    @property
    def band_words(self) -> str:
        """The band as every page, alt text and the PDF word it: "Uncertain", or the label's words."""
        # Translators: the reading's band between "No pneumonia detected" and "Pneumonia suspected".
        return gettext("Uncertain") if self.indeterminate else str(self.get_label_display())

    @property
    def band(self) -> str:
        if self.indeterminate:
            return "indeterminate"
        return self.label


def capture_path(instance: DicomInstance, filename: str) -> str:
    return f"dicom/{timezone.now():%Y/%m}/{uuid.uuid4().hex}-sc.dcm"


class DicomInstance(models.Model):
    """A scan as DICOMweb serves it (api.dicomweb_read): the identifiers of its de-identified DICOM copy,
    indexed so that a search is a query, not a reading of files. A DICOM upload's copy is Scan.dicom_file;
    a JPEG or PNG upload gets a Secondary Capture made from its image (scans.dicom_instances)."""

    scan = models.OneToOneField(Scan, on_delete=models.CASCADE, primary_key=True, related_name="dicom_instance")
    # Not unique: the same file uploaded twice (by one parent, or by two) gives the same de-identified UIDs.
    study_instance_uid = models.CharField(max_length=64, db_index=True)
    series_instance_uid = models.CharField(max_length=64, db_index=True)
    sop_instance_uid = models.CharField(max_length=64, db_index=True)
    sop_class_uid = models.CharField(max_length=64)
    patient_id = models.CharField(
        max_length=64, db_index=True, help_text="The portal's pseudonym of the profile or the site's patient."
    )
    modality = models.CharField(max_length=16, blank=True)
    series_number = models.IntegerField(null=True, blank=True)
    instance_number = models.IntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    bits_allocated = models.PositiveSmallIntegerField()
    number_of_frames = models.PositiveIntegerField(default=1)
    capture = models.FileField(
        upload_to=capture_path, max_length=255, blank=True,
        help_text="A JPEG or PNG upload's Secondary Capture; empty for a DICOM upload (Scan.dicom_file).",
    )  # fmt: skip

    class Meta:
        indexes = [models.Index(fields=["study_instance_uid", "series_instance_uid"])]

    def __str__(self):
        return f"DICOM copy of scan {self.scan_id}"

    @property
    def part10(self):
        """The stored Part 10 file DICOMweb serves."""
        return self.capture if self.capture else self.scan.dicom_file
