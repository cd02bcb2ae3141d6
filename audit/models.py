"""An append-only record of who saw, downloaded, changed or was refused which scan, reading or review."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """An audit record may be written once and never changed or removed."""


class AuditEventQuerySet(models.QuerySet):
    # The default manager refuses bulk changes. Django's deletion collector uses the plain base manager,
    # so deleting a user still sets `actor` to NULL on that user's events (SET_NULL), as intended.
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEWED = "viewed", "Viewed"
        DOWNLOADED = "downloaded", "Downloaded"
        CHANGED = "changed", "Changed"
        REFUSED = "refused", "Refused"
        REQUESTED = "requested", "Review requested"
        CLAIMED = "claimed", "Claimed"
        RELEASED = "released", "Released"
        REVIEWED = "reviewed", "Reviewed"
        DELETED = "deleted", "Deleted"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=32, help_text="scan, prediction, review or user")
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Not a foreign key: the record must outlive the scan it is about.
    scan_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    detail = models.CharField(max_length=255, blank=True)
    path = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        who = self.actor or "someone"
        return f"{who} {self.action} {self.object_type} {self.object_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be changed once written.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")
