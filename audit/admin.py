from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Browsable and filterable; nobody adds, edits or deletes a record, superusers included."""

    list_display = ["created_at", "actor", "action", "object_type", "object_id", "scan_id", "ip_address", "detail"]
    list_filter = ["action", "object_type", "created_at"]
    search_fields = ["actor__email", "ip_address", "=scan_id", "=object_id", "path", "detail"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # a large log: no second COUNT(*) on every page

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
