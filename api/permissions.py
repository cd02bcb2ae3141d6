"""Who may use which endpoint; as on the web, what a user may not see is a 404 the audit log records."""

from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission

from audit.services import Action, record


class IsRadiologist(BasePermission):
    """Radiologists only; other signed-in users are told the endpoint does not exist."""

    def has_permission(self, request, view):
        if request.user.is_radiologist:
            return True
        scan_id = view.kwargs.get("scan_id")
        record(
            request, Action.REFUSED, object_type="scan" if scan_id else "worklist", object_id=scan_id, scan_id=scan_id
        )
        raise NotFound("No such endpoint.")
