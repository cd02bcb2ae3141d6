"""Importing reference films (a folder, or a staff zip in the worker): each film judged as an upload is
and read once by the serving network; what is kept is its label, logit, embedding, distance and hash,
so a head can be refitted later without reading the film again."""

from __future__ import annotations

import functools
import hashlib
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from adaptation.films import Film, films_in_folder, films_in_zip, open_zip
from adaptation.heads import active_head
from adaptation.jobs import IMPORT_LIMIT
from adaptation.models import Job, Label, ReferenceCase, ReferenceImport
from adaptation.network import network_version, serving_predictor
from ml.file_names import patient_id
from portal.celery import transient_errors
from scans.validation import format_size, validate_file

log = logging.getLogger(__name__)
OUTCOMES = ("imported", "already", "refused")
PROGRESS_EVERY_FILMS = 10
MISPLACED = "not directly in NORMAL/ or PNEUMONIA/"


@dataclass
class ImportResult:
    counts: dict = field(default_factory=lambda: {label: dict.fromkeys(OUTCOMES, 0) for label in Label.values})
    refused: list = field(default_factory=list)  # [{"name", "reason"}]

    def add(self, film: Film, outcome: str, reason: str = "") -> None:
        self.counts.setdefault(film.label or MISPLACED, dict.fromkeys(OUTCOMES, 0))[outcome] += 1
        if reason:
            self.refused.append({"name": film.name, "reason": reason})

    def lines(self) -> list[str]:
        return [
            f"{label}: {c['imported']} imported, {c['already']} already there, {c['refused']} refused"
            if label != MISPLACED
            else f"{label}: {c['refused']} refused"
            for label, c in self.counts.items()
        ]


def import_folder(directory: Path, site=None, progress: Callable | None = None) -> ImportResult:
    return import_films(films_in_folder(directory), site, progress)


def import_films(films: Iterable[Film], site=None, progress: Callable | None = None) -> ImportResult:
    """Read every film once and keep the new ones; `progress(result)` is called as it goes."""
    predictor = serving_predictor()
    result = ImportResult()
    for number, film in enumerate(films, start=1):
        outcome, reason = import_film(film, site, predictor)
        result.add(film, outcome, reason)
        if progress and number % PROGRESS_EVERY_FILMS == 0:
            progress(result)
    return result


def import_film(film: Film, site, predictor) -> tuple[str, str]:
    """("imported" | "already" | "refused", reason): the film judged as an upload is, then read once."""
    if film.label is None:
        return "refused", film.refusal
    try:
        data = film.read()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        return "refused", f"could not be read from the zip ({error})"
    sha256 = hashlib.sha256(data).hexdigest()
    if ReferenceCase.objects.of(site).filter(content_sha256=sha256, base_model_version=predictor.version).exists():
        return "already", ""
    try:
        upload = validate_file(data, PurePosixPath(film.name).name)
    except ValidationError as error:
        return "refused", " ".join(error.messages)
    reading = predictor.predict(upload.png)  # the bytes a worker reads for an upload
    if reading.rejected:
        return "refused", reading.reason
    facts = {
        "label": film.label,
        "logit": reading.logit,
        "embedding": reading.embedding.astype("float32").tobytes(),
        "embedding_distance": reading.embedding_distance,
        "group_key": patient_id(PurePosixPath(film.name))[:200],
        "source": ReferenceCase.Source.IMPORT,
        "weight": 1.0,
        "base_model_version": predictor.version,
        "updated_at": timezone.now(),
    }
    return _keep(site, sha256, facts), ""


def _keep(site, sha256: str, facts: dict) -> str:
    """Create the case, or bring one computed by an older network up to date (it was not usable)."""
    try:
        with transaction.atomic():
            updated = ReferenceCase.objects.of(site).filter(content_sha256=sha256).update(**facts)
            if not updated:
                ReferenceCase.objects.create(site=site, content_sha256=sha256, **facts)
    except IntegrityError:  # another import of the same film won the race
        return "already"
    return "imported"


# --- A staff zip, imported by a worker -------------------------------------------------------------


def request_import(uploaded_file, site, user) -> ReferenceImport:
    """Check the zip from its headers, store it and queue it; a ValidationError says what is wrong."""
    if uploaded_file.size > settings.REFERENCE_ZIP_MAX_BYTES:
        raise ValidationError(
            f"This zip is {format_size(uploaded_file.size)}; the limit is "
            f"{format_size(settings.REFERENCE_ZIP_MAX_BYTES)}. Split it into smaller zips.",
            code="too_big",
        )
    with open_zip(uploaded_file) as archive:
        films = sum(1 for _ in films_in_zip(archive))
    uploaded_file.seek(0)
    with transaction.atomic():
        job = ReferenceImport(site=site, requested_by=user, films=films, original_filename=uploaded_file.name[:255])
        job.file.save("films.zip", uploaded_file, save=False)
        job.save()
        job.start()
    return job


def take_import(import_id: int) -> ReferenceImport | None:
    """Claim the import for this worker, unless another took it less than a task time limit ago."""
    now = timezone.now()
    abandoned_before = now - IMPORT_LIMIT - timedelta(seconds=30)
    takeable = Q(status=Job.QUEUED) | Q(status=Job.RUNNING, started_at__lt=abandoned_before)
    taken = ReferenceImport.objects.filter(takeable, pk=import_id).update(status=Job.RUNNING, started_at=now)
    return ReferenceImport.objects.select_related("site").get(pk=import_id) if taken else None


def run_import(import_id: int) -> str:
    """Import the zip's films; a second delivery of the task finds the import taken and does nothing.
    A worker lost half-way leaves it running until abandoned; taken again, the films already kept count
    as "already there" (the hash makes the import idempotent)."""
    job = take_import(import_id)
    if job is None:
        return "skipped"
    try:
        with job.file.open("rb") as stored, open_zip(stored) as archive:
            result = import_films(films_in_zip(archive), job.site, progress=functools.partial(_save_progress, job))
    except transient_errors():
        raise
    except Exception:
        log.exception("reference import %s failed", job.pk)
        ReferenceImport.objects.filter(pk=job.pk).update(
            status=Job.FAILED, finished_at=timezone.now(), message="The import stopped on an error; our team has "
            "been told. Films already imported are kept: upload the zip again to import the rest.",
        )  # fmt: skip
        return Job.FAILED
    ReferenceImport.objects.filter(pk=job.pk).update(
        status=Job.DONE, counts=result.counts, refused=result.refused, finished_at=timezone.now()
    )
    return Job.DONE


def _save_progress(job: ReferenceImport, result: ImportResult) -> None:
    ReferenceImport.objects.filter(pk=job.pk).update(counts=result.counts, refused=result.refused)


def reference_cases_since_active_head(site) -> int:
    """Reference cases of the site (None: the installation) that its active head has not learnt from:
    added or relabelled since it was fitted; every usable case when it has no head of its own yet."""
    version = network_version()
    cases = ReferenceCase.objects.of(site).for_fitting(version)
    head = active_head(site.pk if site else None, version)
    if head is None or head.site_id != (site.pk if site else None):
        return cases.count()
    return cases.filter(updated_at__gt=head.created_at).count()
