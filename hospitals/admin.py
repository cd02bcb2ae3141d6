from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.services import Action, record, record_many
from hospitals.models import DicomOrigin, ResultDelivery, Site, SiteAETitle
from hospitals.notifications import send_results_to_site


class SiteAETitleInline(admin.TabularInline):
    model = SiteAETitle
    extra = 1


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    """A hospital or clinic: who may send (AE titles), who reads (readers), where results go."""

    list_display = ["name", "calling_ae_titles", "destination", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "ae_titles__ae_title"]
    filter_horizontal = ["readers"]
    raw_id_fields = ["service_account"]
    inlines = [SiteAETitleInline]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "readers", "service_account"]}),
        (
            "Results sent back by C-STORE",
            {"fields": ["destination_ae_title", "destination_host", "destination_port"]},
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("ae_titles")

    @admin.display(description="calling AE titles")
    def calling_ae_titles(self, site):
        return ", ".join(title.ae_title for title in site.ae_titles.all()) or "\u2014"

    @admin.display(description="results to")
    def destination(self, site):
        return site.destination or "\u2014"


@admin.register(DicomOrigin)
class DicomOriginAdmin(admin.ModelAdmin):
    """The site's own identifiers of a study: read-only, and every opening is in the audit log."""

    list_display = ["scan", "site", "accession_number", "calling_ae_title", "received_via", "received_at"]
    list_filter = ["site", "received_via"]
    search_fields = ["=accession_number", "=scan__id"]
    list_select_related = ["scan", "site"]
    readonly_fields = [field.name for field in DicomOrigin._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        record(request, Action.VIEWED, object_type="dicomorigin", detail="admin: list of DICOM origins")
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if str(object_id).isdigit():
            origin = DicomOrigin.objects.filter(pk=object_id).only("pk", "scan_id").first()
            if origin is not None:
                record(request, Action.VIEWED, origin, detail="admin")
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ResultDelivery)
class ResultDeliveryAdmin(admin.ModelAdmin):
    """What was sent to each site's PACS: state, attempts, the last error; and the hand to send again."""

    list_display = ["scan_link", "kind", "revision", "state", "attempts", "destination", "sent_at", "last_error"]
    list_filter = ["state", "kind", "scan__site"]
    search_fields = ["=scan__id", "sop_instance_uid"]
    list_select_related = ["scan"]
    readonly_fields = [field.name for field in ResultDelivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="scan", ordering="scan_id")
    def scan_link(self, delivery):
        url = reverse("admin:scans_scan_change", args=[delivery.scan_id])
        return format_html('<a href="{}">Scan {}</a>', url, delivery.scan_id)

    def has_resend_permission(self, request):
        # Rows are read-only (the sender writes them); sending again is the one change staff make.
        return request.user.has_perm("hospitals.change_resultdelivery")

    @admin.action(description="Send again (those not stored yet)", permissions=["resend"])
    def send_again(self, request, queryset):
        unsent = queryset.exclude(state=ResultDelivery.State.SENT).select_related("scan")
        scans = {delivery.scan_id: delivery.scan for delivery in unsent}
        unsent.update(state=ResultDelivery.State.PENDING)
        for scan in scans.values():
            send_results_to_site(scan)
        record_many(request, Action.CHANGED, scans.values(), detail="send results to the site again")
        self.message_user(request, f"Results of {len(scans)} scan(s) queued to be sent again.")
