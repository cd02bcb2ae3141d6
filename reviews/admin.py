from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from audit.services import Action, record_many
from reviews import services
from reviews.models import Review, ReviewCase


@admin.register(ReviewCase)
class ReviewCaseAdmin(admin.ModelAdmin):
    """The worklist as admins see it: why each case waits, who holds it, and the hand to move it."""

    list_display = ["scan_link", "reason", "state", "priority", "waiting_since", "claimed_by", "claim_expires_at"]
    # The case's own page from its reason: the first column already links to the scan, and a second
    # link wrapped round it would leave an empty link (axe's link-name).
    list_display_links = ["reason"]
    list_filter = ["state", "reason", "priority", ("claimed_by", admin.EmptyFieldListFilter)]
    search_fields = ["=scan__id", "scan__owner__email", "claimed_by__email"]
    list_select_related = ["scan", "claimed_by"]
    date_hierarchy = "opened_at"
    ordering = ["state", "-priority", "due_at", "pk"]
    fields = [
        "scan_link", "reason", "state", "priority", "prediction", "requested_at", "waiting_since", "due_at",
        "claimed_by", "claim_expires_at", "opened_at", "closed_at",
    ]  # fmt: skip
    readonly_fields = fields
    actions = ["assign_to_radiologist", "release_claim"]

    @admin.display(description="scan", ordering="scan_id")
    def scan_link(self, case):
        return format_html(
            '<a href="{}">Scan {}</a>', reverse("admin:scans_scan_change", args=[case.scan_id]), case.scan_id
        )

    # Cases are written by readings and requests and closed by signed reviews; admins move claims only.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Assign to a radiologist\u2026", permissions=["change"])
    def assign_to_radiologist(self, request, queryset):
        radiologists = User.objects.filter(role=User.Role.RADIOLOGIST, is_active=True)
        chosen = radiologists.filter(pk=request.POST.get("radiologist") or None).first()
        cases = list(queryset.select_related("scan__owner"))
        scans = [case.scan for case in cases]
        if "apply" in request.POST and chosen is not None:
            count = services.assign(scans, chosen)
            record_many(request, Action.CLAIMED, scans, detail=f"assigned to {chosen.email}")
            self.message_user(
                request,
                f"{count} waiting case(s) assigned to {chosen.email}; cases not waiting for review were left alone.",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Assign to a radiologist",
            "cases": cases,
            "radiologists": radiologists,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/reviews/reviewcase/assign_radiologist.html", context)

    @admin.action(description="Release the claim", permissions=["change"])
    def release_claim(self, request, queryset):
        scans = [case.scan for case in queryset.filter(claimed_by__isnull=False).select_related("scan")]
        count = services.release_claims(scans)
        record_many(request, Action.RELEASED, scans, detail="released by an admin")
        self.message_user(request, f"{count} claim(s) released; the cases are back on the worklist.", messages.SUCCESS)


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
