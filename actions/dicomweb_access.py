"""Reading scans over DICOMweb (api.dicomweb_read): which DICOM copies a user may search and retrieve (those of
the scans actions.scans.visible_scans lets them see, by the same rule as every page), and the audit record of
each search and retrieval, written where the answer is built."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min
from django.http import Http404
from django.urls import reverse

from actions.scans import visible_scans, with_accession_number
from audit.services import Action, record, record_many
from scans.models import DicomInstance, Scan

MAX_RESULTS = 100  # a search answers at most this many rows; a client pages on with offset


@dataclass(frozen=True)
class StudyQuery:
    """A QIDO-RS search's matching keys, already checked (api.dicomweb_read); empty keys match everything."""

    study_instance_uid: str = ""
    patient_id: str = ""
    accession_number: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    limit: int = MAX_RESULTS
    offset: int = 0


def dicomweb_instance_path(scan: Scan) -> str | None:
    """The scan's WADO-RS address (…/instances/<sop>; add /metadata, /frames/1 or /rendered), or None for a
    scan that has no DICOM copy yet (made before DICOMweb: manage.py make_secondary_captures)."""
    instance = DicomInstance.objects.filter(scan=scan).first()
    return instance_path(instance) if instance is not None else None


def instance_path(instance: DicomInstance) -> str:
    uids = (instance.study_instance_uid, instance.series_instance_uid, instance.sop_instance_uid)
    return reverse("dicomweb-instance", kwargs=dict(zip(("study_uid", "series_uid", "sop_uid"), uids, strict=True)))


def visible_instances(user):
    return DicomInstance.objects.filter(scan__in=visible_scans(user).values("pk"))


def _matching(user, query: StudyQuery):
    instances = visible_instances(user)
    if query.study_instance_uid:
        instances = instances.filter(study_instance_uid=query.study_instance_uid)
    if query.patient_id:
        instances = instances.filter(patient_id=query.patient_id)
    if query.accession_number:
        accessioned = with_accession_number(Scan.objects.all(), query.accession_number)
        instances = instances.filter(scan__in=accessioned.values("pk"))
    if query.date_from:
        instances = instances.filter(scan__created_at__date__gte=query.date_from)
    if query.date_to:
        instances = instances.filter(scan__created_at__date__lte=query.date_to)
    return instances


def search_studies(request, query: StudyQuery) -> list[dict]:
    """One row per study the user may see that matches, newest first, paged; recorded as viewed, scan by scan."""
    matching = _matching(request.user, query)
    rows = list(
        matching.values("study_instance_uid")
        .annotate(
            patient_id=Min("patient_id"),
            received_at=Min("scan__created_at"),
            series=Count("series_instance_uid", distinct=True),
            instances=Count("pk"),
        )
        .order_by("-received_at", "study_instance_uid")[query.offset : query.offset + query.limit]
    )
    members = _members(matching, "study_instance_uid", [row["study_instance_uid"] for row in rows])
    for row in rows:
        row["modalities"] = sorted({modality for modality, _ in members[row["study_instance_uid"]] if modality})
    _record_search(request, [scan for row in rows for _, scan in members[row["study_instance_uid"]]], "studies")
    return rows


def _members(instances, level: str, uids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """(modality, scan id) of each instance of these studies or series, in one query for the page."""
    members = {uid: [] for uid in uids}
    for uid, modality, scan_id in instances.filter(**{f"{level}__in": uids}).values_list(level, "modality", "scan"):
        members[uid].append((modality, scan_id))
    return members


def search_series(request, study_uid: str | None, query: StudyQuery) -> list[dict]:
    """The series the user may see, of one study (404 for a study they may not) or, searched from the top
    (/dicomweb/series), of every study matching the query's study keys; paged."""
    instances = _scope(request, study_uid, None, query)
    rows = list(
        instances.values("series_instance_uid")
        .annotate(
            study_instance_uid=Min("study_instance_uid"),
            modality=Min("modality"),
            series_number=Min("series_number"),
            instances=Count("pk"),
            received_at=Min("scan__created_at"),
        )
        .order_by(*(("series_number", "received_at") if study_uid else ("-received_at",)), "series_instance_uid")[
            query.offset : query.offset + query.limit
        ]
    )
    members = _members(instances, "series_instance_uid", [row["series_instance_uid"] for row in rows])
    _record_search(request, [scan for row in rows for _, scan in members[row["series_instance_uid"]]], "series")
    return rows


def search_instances(
    request, study_uid: str | None, series_uid: str | None, query: StudyQuery
) -> list[DicomInstance]:
    """The instances the user may see, of one study (and series; 404 if none) or, searched from the top
    (/dicomweb/instances), of every study matching the query's study keys, newest first; paged."""
    instances = _scope(request, study_uid, series_uid, query)
    order = ("instance_number", "scan__created_at") if study_uid else ("-scan__created_at",)
    found = list(instances.select_related("scan").order_by(*order, "pk")[query.offset : query.offset + query.limit])
    _record_search(request, [instance.scan_id for instance in found], "instances")
    return found


def _scope(request, study_uid: str | None, series_uid: str | None, query: StudyQuery):
    """What a series or instance search looks through: one study (refused if the user may not see it), or
    every study the user may see that matches the study keys, for a search from the top."""
    return _study(request, study_uid, series_uid) if study_uid else _matching(request.user, query)


def _study(request, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None):
    instances = visible_instances(request.user).filter(study_instance_uid=study_uid)
    if series_uid:
        instances = instances.filter(series_instance_uid=series_uid)
    if sop_uid:
        instances = instances.filter(sop_instance_uid=sop_uid)
    if not instances.exists():
        # 404 rather than 403: another account's or site's study must not even be known to exist.
        what = " ".join(uid for uid in (study_uid, series_uid, sop_uid) if uid)
        record(request, Action.REFUSED, object_type="dicom-study", detail=f"dicomweb: {what}"[:255])
        raise Http404("No such study, series or instance.")
    return instances


def _record_search(request, scan_ids: list[int], level: str) -> None:
    detail = f"dicomweb: search for {level}"
    if not scan_ids:  # a search that found nothing still leaves its trace
        record(request, Action.VIEWED, object_type="dicom-search", detail=detail)
        return
    record_many(request, Action.VIEWED, Scan.objects.filter(pk__in=set(scan_ids)).only("pk"), detail=detail)


def retrieve(request, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None, *, what: str):
    """The DICOM copies the user may see at this address (404 if none), newest first, with the scans, each
    recorded: a download of the files, or a view of their metadata, frames or rendered picture (`what`)."""
    instances = list(
        _study(request, study_uid, series_uid, sop_uid)
        .select_related("scan")
        .order_by("series_number", "series_instance_uid", "instance_number", "-scan__created_at", "pk")
    )
    if sop_uid:  # the same file uploaded twice is one instance to DICOMweb: the newest upload's copy
        instances = sorted(instances, key=lambda instance: instance.scan.created_at, reverse=True)[:1]
    action = Action.DOWNLOADED if what == "instances" else Action.VIEWED
    record_many(request, action, [instance.scan for instance in instances], detail=f"dicomweb: {what}")
    return instances
