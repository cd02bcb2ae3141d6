"""Portal figures for Prometheus, read from the database and the broker when scraped.

Request latency comes from operations.middleware; these add what only the portal knows:
scans by status, the broker's queue depth, recent inference time, the model version serving, and what the
DICOM listener holds and has refused (from the status row it writes, hospitals.listener_status).
Reading at scrape time keeps web and worker processes free of shared metric state.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

log = logging.getLogger(__name__)
INFERENCE_WINDOW = timedelta(hours=1)
# A listener whose status is older than this many of its intervals has stopped or hangs: not counted.
LISTENER_STALE_INTERVALS = 3


class PortalCollector:
    def describe(self):
        """The families' names without reading anything: registering must not touch the database."""
        yield GaugeMetricFamily("portal_scans", "Scans by status.", labels=["status"])
        yield GaugeMetricFamily("portal_queue_depth", "Messages waiting in the scan queue.", labels=["queue"])
        yield GaugeMetricFamily("portal_inference_milliseconds", "Model time per scan.", labels=["quantile"])
        yield GaugeMetricFamily("portal_readings_last_hour", "Readings written in the last hour.")
        yield InfoMetricFamily("portal_model", "The model the portal serves.")
        figures, out_of_range = _drift_families()
        yield from (*figures.values(), out_of_range)
        yield from _listener_families()

    def collect(self):
        yield from self._scans_by_status()
        yield from self._queue_depth()
        yield from self._inference_time()
        yield from self._model()
        yield from self._drift()
        yield from self._dicom_listener()

    def _scans_by_status(self):
        from django.db.models import Count

        from scans.models import Scan

        family = GaugeMetricFamily("portal_scans", "Scans by status.", labels=["status"])
        counts = dict(Scan.objects.order_by().values_list("status").annotate(Count("pk")))
        for status in Scan.Status.values:
            family.add_metric([status], counts.get(status, 0))
        yield family

    def _queue_depth(self):
        from django.conf import settings

        from portal.celery import app

        family = GaugeMetricFamily("portal_queue_depth", "Messages waiting in the scan queue.", labels=["queue"])
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        try:
            with app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
                family.add_metric([queue], _message_count(conn, queue))
        except Exception as error:  # noqa: BLE001 - an unreachable broker shows as a missing sample
            log.warning("queue depth not read: %s", type(error).__name__)
        yield family

    def _inference_time(self):
        import numpy as np
        from django.utils import timezone

        from scans.models import Prediction

        recent = Prediction.objects.filter(created_at__gte=timezone.now() - INFERENCE_WINDOW)
        times = np.array(recent.values_list("inference_ms", flat=True), dtype=float)
        family = GaugeMetricFamily(
            "portal_inference_milliseconds", "Model time per scan over the last hour.", labels=["quantile"]
        )
        for quantile in (0.5, 0.95):
            family.add_metric([str(quantile)], float(np.quantile(times, quantile)) if len(times) else float("nan"))
        yield family
        yield GaugeMetricFamily("portal_readings_last_hour", "Readings written in the last hour.", value=len(times))

    def _model(self):
        from scans.model_card import read_manifest

        info = InfoMetricFamily("portal_model", "The model the portal serves.")
        info.add_metric([], {"version": str(read_manifest().get("version", "none"))})
        yield info

    def _drift(self):
        """Each site's figures for its recent weeks (reviews.drift), and which left their usual range."""
        from reviews import drift

        figures, out_of_range = _drift_families()
        for site in drift.by_site(weeks=drift.RECENT_WEEKS):
            for week in site.weeks:
                labels = [site.label, week.start.date().isoformat()]
                for name, value in week.metrics().items():
                    if value is not None:
                        figures[name].add_metric(labels, value)
                for figure, out in week.judged().items():
                    out_of_range.add_metric([*labels, figure], float(out))
        yield from (*figures.values(), out_of_range)

    def _dicom_listener(self):
        from django.conf import settings
        from django.utils import timezone

        from hospitals.models import ListenerStatus

        stale = timezone.now() - timedelta(seconds=LISTENER_STALE_INTERVALS * settings.DICOM_STATUS_SECONDS)
        running, associations, waiting, refusals = _listener_families()
        for status in ListenerStatus.objects.filter(last_seen__gte=stale).order_by("listener"):
            associations.add_metric([status.listener], status.associations)
            waiting.add_metric([status.listener], status.waiting)
            for reason, count in sorted(status.refusals.items()):
                refusals.add_metric([status.listener, reason], count)
        running.add_metric([], len(associations.samples))
        yield from (running, associations, waiting, refusals)


DRIFT_FIGURES = {
    "readings": "First readings in the week.",
    "flagged_share": "Share of the week's first readings flagged for review.",
    "mean_probability": "Mean probability of pneumonia of the week's first readings.",
    "embedding_distance": "Mean Mahalanobis distance of the week's films to the training films.",
    "embedding_distance_ratio": "That distance over the gate's refusal distance.",
    "reviewed": "Reviewed readings of the week.",
    "agreement": "Share of the week's decided reviews that agree with the reading's label.",
    "reviewed_mean_probability_weighted": "Mean probability of reviewed readings, weighted by 1/chance of review.",
    "reviewed_pneumonia_share_weighted": "Share found pneumonia among reviewed readings, weighted the same.",
}


def _drift_families() -> tuple[dict[str, GaugeMetricFamily], GaugeMetricFamily]:
    labels = ["site", "week"]
    figures = {
        name: GaugeMetricFamily(f"portal_drift_{name}", text, labels=labels) for name, text in DRIFT_FIGURES.items()
    }
    out_of_range = GaugeMetricFamily(
        "portal_drift_out_of_range",
        "1 when the week's figure left its usual range (reviews.drift).",
        labels=[*labels, "figure"],
    )
    return figures, out_of_range


def _listener_families():
    return (
        GaugeMetricFamily("portal_dicom_listeners", "DICOM listeners that wrote their status lately."),
        GaugeMetricFamily(
            "portal_dicom_listener_associations", "Associations open or being negotiated.", labels=["listener"]
        ),
        GaugeMetricFamily(
            "portal_dicom_listener_waiting_connections",
            "Connections that have not yet asked for an association.",
            labels=["listener"],
        ),
        CounterMetricFamily(
            "portal_dicom_listener_refusals",
            "Connections refused at accept or closed before an association, since the listener started.",
            labels=["listener", "reason"],
        ),
    )


def _message_count(conn, queue: str) -> int:
    from kombu.exceptions import ChannelError

    try:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:  # no worker has declared it yet: nothing can be waiting in it
        return 0


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(PortalCollector())
        _registered = True
