from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Exists, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from audit.services import Action, record, record_many
from reviews import services as reviews
from reviews.models import Review
from scans.models import Prediction, Scan


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
    title = "radiologist review"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("yes", "Reviewed"), ("waiting", "Waiting for review"), ("claimed", "Claimed now")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_reviewed=True)
        if self.value() == "waiting":
            return queryset.filter(pk__in=Scan.objects.awaiting_review().values("pk"))
        if self.value() == "claimed":
            return queryset.filter(review_claimed_by__isnull=False)
        return queryset


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = [
        "id", "owner", "original_filename", "status", "reading", "reviewed", "review_claimed_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", ReadingFilter, ReviewedFilter, "predictions__model_version", "created_at"]
    search_fields = ["=id", "owner__email", "original_filename", "sha256"]
    list_select_related = ["owner", "review_claimed_by"]
    date_hierarchy = "created_at"
    raw_id_fields = ["owner"]
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
        "review_requested_at",
        "review_claimed_by",
        "review_claimed_at",
        "result_notified_at",
    ]
    exclude = ["image"]
    inlines = [PredictionInline]
    actions = ["rerun_inference", "assign_to_radiologist", "release_review_claim"]

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
                is_reviewed=Exists(Review.objects.filter(scan=OuterRef("pk"))),
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
        return f"{scan.latest_probability:.0%} {label}"

    @admin.display(description="reviewed", boolean=True, ordering="is_reviewed")
    def reviewed(self, scan):
        return scan.is_reviewed

    @admin.action(description="Re-run inference with the current model", permissions=["change"])
    def rerun_inference(self, request, queryset):
        finished = [scan for scan in queryset if scan.is_finished]
        for scan in finished:
            scan.rerun_with_current_model()  # the message goes once the admin's transaction commits
        record_many(request, Action.CHANGED, finished, detail="re-run inference")
        self.message_user(
            request, f"{len(finished)} scan(s) queued for the current model; unfinished ones were left alone."
        )

    @admin.action(description="Assign to a radiologist\u2026", permissions=["change"])
    def assign_to_radiologist(self, request, queryset):
        radiologists = User.objects.filter(role=User.Role.RADIOLOGIST, is_active=True)
        chosen = radiologists.filter(pk=request.POST.get("radiologist") or None).first()
        if "apply" in request.POST and chosen is not None:
            scans = list(queryset)
            count = reviews.assign(scans, chosen)
            record_many(request, Action.CLAIMED, scans, detail=f"assigned to {chosen.email}")
            self.message_user(
                request,
                f"{count} waiting case(s) assigned to {chosen.email}; scans not waiting for review were left alone.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Assign to a radiologist",
            "scans": queryset,
            "radiologists": radiologists,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/scans/scan/assign_radiologist.html", context)

    @admin.action(description="Release the review claim", permissions=["change"])
    def release_review_claim(self, request, queryset):
        claimed = list(queryset.filter(review_claimed_by__isnull=False))
        count = reviews.release_claims(claimed)
        record_many(request, Action.RELEASED, claimed, detail="released by an admin")
        self.message_user(request, f"{count} claim(s) released; the cases are back on the worklist.", messages.SUCCESS)


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scan", "model_version", "probability", "label", "indeterminate", "needs_review", "created_at"]
    list_filter = ["label", "needs_review", "indeterminate", "model_version"]
    search_fields = ["scan__owner__email", "scan__original_filename"]
    list_select_related = ["scan"]
