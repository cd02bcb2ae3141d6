from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Action, record, record_many
from reviews.models import Review, ReviewCase
from scans.clinical import percent_words
from scans.models import DicomInstance, Prediction, Scan


class ReadOnlyAdminMixin:
    """Readings are the model's record of what it said: nobody edits them by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PredictionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Prediction
    extra = 0
    can_delete = False
    fields = ["model_version", "probability", "label", "indeterminate", "needs_review", "inference_ms", "created_at"]
    readonly_fields = fields


class DicomInstanceInline(ReadOnlyAdminMixin, admin.StackedInline):
    """The scan as DICOMweb serves it: the identifiers a viewer or PACS asks for, to find a study a site names."""

    model = DicomInstance
    extra = 0
    can_delete = False
    fields = [
        "study_instance_uid", "series_instance_uid", "sop_instance_uid", "sop_class_uid", "patient_id", "modality",
        "rows", "columns", "bits_allocated",
    ]  # fmt: skip
    readonly_fields = fields


class ReadingFilter(admin.SimpleListFilter):
    title = "computer reading"
    parameter_name = "reading"

    def lookups(self, request, model_admin):
        return [("pneumonia", "Pneumonia suspected"), ("normal", "No pneumonia"), ("indeterminate", "Uncertain")]

    def queryset(self, request, queryset):
        if self.value() == "indeterminate":
            return queryset.filter(latest_indeterminate=True)
        if self.value() in ("pneumonia", "normal"):
            return queryset.filter(latest_label=self.value(), latest_indeterminate=False)
        return queryset


class ReviewedFilter(admin.SimpleListFilter):
    """The scan's place in the review loop, asked of the reviews app's rows (its admin has the cases
    themselves, with their claims and the actions on them)."""

    title = "radiologist review"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("waiting", "Waiting for review"), ("claimed", "Claimed now")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=Review.objects.values("scan"))
        if self.value() == "waiting":
            return queryset.filter(pk__in=ReviewCase.objects.waiting().values("scan"))
        if self.value() == "claimed":
            # A live claim (reviews.models.live_claim): an expired claim is free, as the worklist shows it.
            return queryset.filter(pk__in=ReviewCase.objects.claimed_now().values("scan"))
        return queryset


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = [
        "id", "owner", "site", "original_filename", "status", "reading", "review", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "site", ReadingFilter, ReviewedFilter, "predictions__model_version", "created_at"]
    search_fields = ["=id", "owner__email", "original_filename", "sha256", "=dicom_instance__study_instance_uid"]
    list_select_related = ["owner", "site"]
    date_hierarchy = "created_at"
    raw_id_fields = ["owner", "patient"]
    readonly_fields = [
        "image_link",
        "original_filename",
        "source_format",
        "width",
        "height",
        "size_bytes",
        "sha256",
        "attempts",
        "worker_task_id",
        "created_at",
        "queued_at",
        "started_at",
        "finished_at",
        "result_notified_at",
    ]
    exclude = ["image"]
    inlines = [PredictionInline, DicomInstanceInline]
    actions = ["rerun_inference"]

    def get_queryset(self, request):
        # The latest reading and the review state as columns: filters and the list need no query per row.
        latest = Prediction.objects.filter(scan=OuterRef("pk")).order_by("-created_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_label=Subquery(latest.values("label")[:1]),
                latest_probability=Subquery(latest.values("probability")[:1]),
                latest_indeterminate=Subquery(latest.values("indeterminate")[:1]),
                review_state=Subquery(ReviewCase.objects.filter(scan=OuterRef("pk")).values("state")[:1]),
            )
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET" and str(object_id).isdigit():
            record(
                request,
                Action.VIEWED,
                object_type="scan",
                object_id=int(object_id),
                scan_id=int(object_id),
                detail="admin",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="image")
    def image_link(self, scan):
        # Stored files have no public URL; the scan's own view checks access and streams it.
        return format_html('<a href="{}">View the X-ray</a>', reverse("scans:image", args=[scan.pk]))

    @admin.display(description="computer reading", ordering="latest_probability")
    def reading(self, scan):
        if scan.latest_label is None:
            return "\u2014"
        label = "uncertain" if scan.latest_indeterminate else scan.latest_label
        return f"{percent_words(scan.latest_probability)} {label}"

    @admin.display(description="radiologist review", ordering="review_state")
    def review(self, scan):
        return scan.review_state.capitalize() if scan.review_state else "\u2014"

    @admin.action(description="Re-run inference with the current model", permissions=["change"])
    def rerun_inference(self, request, queryset):
        finished = [scan for scan in queryset if scan.is_finished]
        for scan in finished:
            scan.rerun_with_current_model()  # the message goes once the admin's transaction commits
        record_many(request, Action.CHANGED, finished, detail="re-run inference")
        self.message_user(
            request, f"{len(finished)} scan(s) queued for the current model; unfinished ones were left alone."
        )


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scan", "model_version", "probability", "label", "indeterminate", "needs_review", "created_at"]
    list_filter = ["label", "needs_review", "indeterminate", "model_version"]
    search_fields = ["scan__owner__email", "scan__original_filename"]
    list_select_related = ["scan"]
