"""Who may use the review pages: radiologists only; anyone else gets a 404, which the audit log records."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from audit.services import Action, record


def radiologist_required(view):
    """Log in first; then radiologists only. Cases themselves still come through actions.scans.get_scan_for."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_radiologist:
            pk = kwargs.get("pk")
            record(request, Action.REFUSED, object_type="scan" if pk else "worklist", object_id=pk, scan_id=pk)
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper
