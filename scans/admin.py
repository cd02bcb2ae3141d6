from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

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


@admin.register(Scan)
class ScanAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "original_filename", "status", "source_format", "created_at", "finished_at"]
    list_filter = ["status", "source_format", "created_at"]
    search_fields = ["owner__email", "original_filename"]
    list_select_related = ["owner"]
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
        "claimed_by",
        "created_at",
        "queued_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["image"]
    inlines = [PredictionInline]

    @admin.display(description="image")
    def image_link(self, scan):
        # Stored files have no public URL; the scan's own view checks access and streams it.
        return format_html('<a href="{}">View the X-ray</a>', reverse("scans:image", args=[scan.pk]))


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["scan", "model_version", "probability", "label", "indeterminate", "needs_review", "created_at"]
    list_filter = ["label", "needs_review", "indeterminate", "model_version"]
    search_fields = ["scan__owner__email", "scan__original_filename"]
    list_select_related = ["scan"]
