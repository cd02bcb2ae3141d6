"""Read-only admin views: reference cases come from imports and reviews, heads from fitting; activation
and rollback happen on the staff adaptation page, where they are audited."""

from django.contrib import admin

from adaptation.models import AdaptationRun, ReadingHead, ReferenceCase, ReferenceImport


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReferenceCase)
class ReferenceCaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "site", "label", "source", "weight", "base_model_version", "updated_at"]
    list_filter = ["label", "source", "base_model_version", ("site", admin.EmptyFieldListFilter)]
    list_select_related = ["site"]
    search_fields = ["content_sha256", "group_key"]
    exclude = ["embedding"]


@admin.register(ReadingHead)
class ReadingHeadAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "site", "base_model_version", "active", "created_by", "created_at", "activated_at"]
    list_filter = ["active", ("site", admin.EmptyFieldListFilter)]
    list_select_related = ["site", "created_by"]

    def has_delete_permission(self, request, obj=None):
        return False  # a reading names its head: the head stays to say what read it


@admin.register(ReferenceImport)
class ReferenceImportAdmin(ReadOnlyAdmin):
    list_display = ["id", "site", "original_filename", "status", "films", "requested_by", "created_at"]
    list_select_related = ["site", "requested_by"]


@admin.register(AdaptationRun)
class AdaptationRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "site", "status", "reading_head", "requested_by", "created_at"]
    list_select_related = ["site", "requested_by", "reading_head"]
