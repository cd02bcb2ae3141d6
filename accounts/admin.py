from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User
from accounts.sessions import end_sessions
from audit.services import Action, record_many


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "role", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "language"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "role", "notify_by_email", "language")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),)
    actions = ["make_radiologist", "deactivate"]

    @admin.action(description="Make radiologist", permissions=["change"])
    def make_radiologist(self, request, queryset):
        users = list(queryset.exclude(role=User.Role.RADIOLOGIST))
        User.objects.filter(pk__in=[user.pk for user in users]).update(role=User.Role.RADIOLOGIST)
        record_many(request, Action.CHANGED, users, detail="role set to radiologist")
        self.message_user(request, f"{len(users)} account(s) made radiologist.")

    @admin.action(description="Deactivate (they can no longer log in; their records stay)", permissions=["change"])
    def deactivate(self, request, queryset):
        # Deactivated, never deleted: signed reviews and audit records keep naming their author.
        users = list(queryset.filter(is_active=True).exclude(pk=request.user.pk))
        User.objects.filter(pk__in=[user.pk for user in users]).update(is_active=False)
        end_sessions(user.pk for user in users)  # update() sends no post_save
        record_many(request, Action.CHANGED, users, detail="deactivated")
        level = messages.WARNING if queryset.filter(pk=request.user.pk).exists() else messages.SUCCESS
        note = " Your own account was left active." if level == messages.WARNING else ""
        self.message_user(request, f"{len(users)} account(s) deactivated.{note}", level)
