"""The diagnostic viewer's context (scans/_dicom_viewer.html): the WADO-RS address of a scan's DICOM copy,
and of the same person's earlier X-rays the user may see, older first, to set beside it."""

from __future__ import annotations

from actions.dicomweb_access import dicomweb_instance_path, instance_path
from actions.scans import earlier_of_the_same_person, visible_scans
from scans.models import Scan

PRIORS_SHOWN = 6  # the most recent ones


def viewer_priors(user, scan: Scan) -> list[Scan]:
    """The same profile's or site patient's earlier X-rays this user may see, the latest few, older first."""
    earlier = earlier_of_the_same_person(visible_scans(user), scan).select_related("dicom_instance")
    latest = earlier.order_by("-created_at", "-id")[:PRIORS_SHOWN]
    return list(reversed(latest))


def dicom_viewer(user, scan: Scan) -> dict | None:
    """What the viewer reads, or None where the scan has no DICOM copy (the PNG viewer is then all there is).
    Each address is read, and audited, by DICOMweb when the browser fetches it, not here."""
    instance_url = dicomweb_instance_path(scan)
    if instance_url is None:
        return None
    priors = []
    for prior in viewer_priors(user, scan):
        if hasattr(prior, "dicom_instance"):  # fetched with it: no query per prior
            priors.append(
                {"pk": prior.pk, "created_at": prior.created_at, "instance_url": instance_path(prior.dicom_instance)}
            )
    return {"instance_url": instance_url, "priors": priors}
