"""A radiologist's signed verdict as a reference case of the scan's site (or of the installation)."""

from __future__ import annotations

import hashlib
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from adaptation.models import ReferenceCase
from adaptation.network import network_version
from hospitals.models import DicomOrigin


def record_verdict(scan, prediction, label: str | None, weight: float) -> ReferenceCase | None:
    """A signed review teaches its site (or the installation): the scan's case takes the radiologist's
    label, replacing an earlier verdict on the same scan; None (inconclusive) withdraws it.

    Only a reading by the serving network that kept its logit and embedding qualifies. `weight` is the
    inverse of the chance the reading reached a radiologist (reviews knows it)."""
    if label is None:
        ReferenceCase.objects.filter(scan=scan).delete()
        return None
    version = network_version()
    if prediction is None or prediction.logit is None or prediction.embedding is None:
        return None
    if not version or base_version(prediction.model_version) != version:
        return None
    with scan.image.open("rb") as stored:
        sha256 = hashlib.sha256(stored.read()).hexdigest()
    facts = {
        "label": label,
        "logit": prediction.logit,
        "embedding": bytes(prediction.embedding),
        "embedding_distance": prediction.embedding_distance,
        "group_key": group_key(scan),
        "source": ReferenceCase.Source.REVIEW,
        "weight": weight,
        "base_model_version": version,
        "scan": scan,
        "updated_at": timezone.now(),
    }
    with transaction.atomic():
        # One film, one case: the same image sent twice is one case, whichever scan was reviewed last.
        same_film = Q(scan=scan) | Q(content_sha256=sha256, **_site_filter(scan.site_id))
        case = ReferenceCase.objects.select_for_update().filter(same_film).first()
        if case is None:
            return ReferenceCase.objects.create(site_id=scan.site_id, content_sha256=sha256, **facts)
        ReferenceCase.objects.filter(scan=scan).exclude(pk=case.pk).delete()
        for name, value in facts.items():
            setattr(case, name, value)
        case.content_sha256 = sha256
        case.save()
    return case


def _site_filter(site_id: int | None) -> dict:
    return {"site_id": site_id} if site_id else {"site__isnull": True}


def group_key(scan) -> str:
    """The patient: the site's patient id for a study, else the profile of the upload."""
    if scan.site_id:
        origin = DicomOrigin.objects.filter(scan=scan).values_list("patient_id", flat=True).first()
        return f"site-{scan.site_id}/patient-{origin}" if origin else f"scan-{scan.pk}"
    return f"profile-{scan.patient_id}" if scan.patient_id else f"account-{scan.owner_id}"


def base_version(model_version: str) -> str:
    """The network's version in a reading's version: without the head's `+site-3.2` or `+local.2`."""
    return re.sub(r"\+(site-\d+|local)\.\d+$", "", model_version)
