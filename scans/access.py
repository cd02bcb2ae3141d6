"""The one way a view gets a scan: through what the user may see, or a 404."""

from django.shortcuts import get_object_or_404

from scans.models import Scan


def get_scan_for(user, pk: int, *, owner_only: bool = False) -> Scan:
    """The scan if `user` may see it (may change it, with owner_only), else 404.

    404 rather than 403: another patient's scan must not even be known to exist. Changes are the
    owner's alone: a radiologist who may read a scan must not delete a patient's X-ray.
    """
    scans = Scan.objects.visible_to(user).with_latest_prediction()
    if owner_only:
        scans = scans.filter(owner=user)
    return get_object_or_404(scans, pk=pk)
