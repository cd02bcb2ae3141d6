"""The one way a view gets a scan: through what the user may see, or a 404 that the audit log records."""

from django.http import Http404

from audit.services import Action, record
from scans.models import Scan


def get_scan_for(request, pk: int, *, owner_only: bool = False) -> Scan:
    """The scan if the request's user may see it (may change it, with owner_only), else 404.

    404 rather than 403: another patient's scan must not even be known to exist. Changes are the
    owner's alone: a radiologist who may read a scan must not delete a patient's X-ray.
    """
    scans = Scan.objects.visible_to(request.user).with_latest_prediction()
    if owner_only:
        scans = scans.filter(owner=request.user)
    try:
        return scans.get(pk=pk)
    except Scan.DoesNotExist:
        record(request, Action.REFUSED, object_type="scan", object_id=pk, scan_id=pk)
        raise Http404("No such scan.") from None
