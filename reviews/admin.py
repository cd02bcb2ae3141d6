from django.contrib import admin

from reviews.models import Review


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """A signed review is a clinical record: read here, never edited, added or deleted by hand."""

    list_display = ["scan", "radiologist", "finding", "agreement", "created_at"]
    list_filter = ["finding", "created_at", "prediction__model_version"]
    search_fields = ["radiologist__email", "scan__owner__email", "=scan__id"]
    list_select_related = ["scan", "radiologist", "prediction"]
    date_hierarchy = "created_at"

    @admin.display(description="agrees with the model", boolean=True)
    def agreement(self, review):
        return review.agrees_with_ai

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
