"""Fitting a site's head: its reference cases of the serving network into ml.adaptation, the report
kept with the head it fitted. Imports scikit-learn (through ml.adaptation): the worker and the command
run it, the web only queues it."""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from adaptation.jobs import ADAPT_LIMIT
from adaptation.models import AdaptationRun, Job, ReadingHead, ReferenceCase
from adaptation.network import network_version
from ml.adaptation import AdaptationReport, ReferenceSet, adapt
from ml.heads import Head
from portal.celery import transient_errors
from scans.model_card import read_manifest

log = logging.getLogger(__name__)
LABELS = {"normal": 0, "pneumonia": 1}


def reference_set(site, version: str) -> ReferenceSet:
    """The site's (or the installation's) cases that this network read and that may weigh on a fit."""
    rows = list(
        ReferenceCase.objects.of(site)
        .for_fitting(version)
        .order_by("pk")
        .values_list("label", "logit", "embedding", "group_key", "weight")
    )
    embeddings = [np.frombuffer(bytes(row[2]), dtype=np.float32) for row in rows]
    return ReferenceSet(
        labels=np.array([LABELS[row[0]] for row in rows], dtype=int),
        logits=np.array([row[1] for row in rows], dtype=np.float64),
        embeddings=np.stack(embeddings) if embeddings else np.zeros((0, 1), dtype=np.float32),
        groups=np.array([row[3] for row in rows], dtype=str),
        weights=np.array([row[4] for row in rows], dtype=np.float64),
    )


def adapt_site(site, created_by=None) -> tuple[AdaptationReport, ReadingHead | None]:
    """Fit and judge a head on the site's cases; the head (inactive) is kept when one could be fitted."""
    manifest = read_manifest()
    version = network_version()
    report = adapt(reference_set(site, version), Head.from_manifest(manifest))
    if report.head is None:
        return report, None
    return report, _store(site, version, report, created_by)


def _store(site, version: str, report: AdaptationReport, created_by) -> ReadingHead:
    for _ in range(3):  # two fits finishing together may pick the same number; the constraint tells
        number = (ReadingHead.objects.of(site).aggregate(last=Max("number"))["last"] or 0) + 1
        try:
            with transaction.atomic():
                return ReadingHead.objects.create(
                    site=site,
                    number=number,
                    head=report.head.as_dict(),
                    report=report.as_dict(),
                    base_model_version=version,
                    created_by=created_by,
                )
        except IntegrityError:
            continue
    raise RuntimeError("could not number the new reading head")


def take_run(run_id: int) -> AdaptationRun | None:
    now = timezone.now()
    abandoned_before = now - ADAPT_LIMIT - timedelta(seconds=30)
    takeable = Q(status=Job.QUEUED) | Q(status=Job.RUNNING, started_at__lt=abandoned_before)
    taken = AdaptationRun.objects.filter(takeable, pk=run_id).update(status=Job.RUNNING, started_at=now)
    return AdaptationRun.objects.select_related("site", "requested_by").get(pk=run_id) if taken else None


def run_adaptation(run_id: int) -> str:
    """The staff page's request, in the worker: fit, keep the head and the report on the run."""
    run = take_run(run_id)
    if run is None:
        return "skipped"
    try:
        report, head = adapt_site(run.site, created_by=run.requested_by)
    except transient_errors():
        raise
    except Exception:
        log.exception("adaptation run %s failed", run.pk)
        AdaptationRun.objects.filter(pk=run.pk).update(
            status=Job.FAILED,
            finished_at=timezone.now(),
            message="The fit stopped on an error; our team has been told.",
        )
        return Job.FAILED
    AdaptationRun.objects.filter(pk=run.pk).update(
        status=Job.DONE, report=report.as_dict(), reading_head=head, finished_at=timezone.now()
    )
    return Job.DONE
