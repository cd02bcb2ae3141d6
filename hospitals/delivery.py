"""Sending a scan's results to its site's PACS by C-STORE: the SR and the heatmap capture of the
current revision (the reading; again once a radiologist has signed), each recorded as a ResultDelivery
so admins see what was sent, when, and why not."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE

from hospitals.models import ResultDelivery, Site
from hospitals.scan_results import heatmap_capture_of, result_source, revision_of, structured_report_of
from scans.models import Scan

log = logging.getLogger(__name__)

# Success, and the warnings PS3.4 B.2.3 counts as stored (coerced, elements discarded).
STORED = {0x0000, 0xB000, 0xB006, 0xB007}
NETWORK_TIMEOUT_SECONDS = 15


class DeliveryFailed(Exception):
    """The site's PACS could not be reached or did not store a result; worth trying again later."""


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    already_sent: int = 0
    reason: str = ""  # why nothing was sent, when nothing was


def deliver_results(scan_id: int) -> Outcome:
    """Send what the site has not yet stored of this scan's current result; idempotent (a redelivered
    task sends nothing twice: each object's row says it was stored)."""
    scan = Scan.objects.select_related("site").prefetch_related("predictions", "reviews__radiologist").get(pk=scan_id)
    if scan.site is None or not scan.site.has_destination:
        return Outcome(reason="the site has no destination for results")
    reading = scan.latest_prediction
    if scan.status != Scan.Status.DONE or reading is None:
        return Outcome(reason="the scan has no reading to send")
    revision = revision_of(scan)
    kinds = [ResultDelivery.Kind.STRUCTURED_REPORT]
    if reading.heatmap and revision == 1:  # the same capture after a review (heatmap_capture_of)
        kinds.append(ResultDelivery.Kind.HEATMAP)
    unsent = _not_yet_stored(scan, revision, kinds)
    if not unsent:  # a redelivered task: nothing is built, nothing is sent
        return Outcome(already_sent=len(kinds))
    source = result_source(scan, reading, with_images=ResultDelivery.Kind.HEATMAP in unsent)
    deliveries = [_delivery(scan, kind, revision, BUILDERS[kind](source)) for kind in unsent]
    _send(scan.site, deliveries)
    return Outcome(sent=len(unsent), already_sent=len(kinds) - len(unsent))


def _not_yet_stored(scan: Scan, revision: int, kinds: list[str]) -> list[str]:
    stored = ResultDelivery.objects.filter(scan=scan, revision=revision, state=ResultDelivery.State.SENT)
    stored_kinds = set(stored.values_list("kind", flat=True))
    return [kind for kind in kinds if kind not in stored_kinds]


BUILDERS = {
    ResultDelivery.Kind.STRUCTURED_REPORT: structured_report_of,
    ResultDelivery.Kind.HEATMAP: heatmap_capture_of,
}


def _delivery(scan: Scan, kind: str, revision: int, dataset) -> tuple[ResultDelivery, object]:
    delivery, _ = ResultDelivery.objects.get_or_create(
        scan=scan, kind=kind, revision=revision,
        defaults={"sop_instance_uid": str(dataset.SOPInstanceUID), "destination": scan.site.destination},
    )  # fmt: skip
    return delivery, dataset


def _send(site: Site, deliveries: list) -> None:
    """Store every object over one association; rows record each attempt. Raises DeliveryFailed."""
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    ae.network_timeout = ae.acse_timeout = ae.dimse_timeout = NETWORK_TIMEOUT_SECONDS
    for sop_class in sorted({str(dataset.SOPClassUID) for _, dataset in deliveries}):
        ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    ResultDelivery.objects.filter(pk__in=[delivery.pk for delivery, _ in deliveries]).update(attempts=F("attempts") + 1)
    association = ae.associate(site.destination_host, site.destination_port, ae_title=site.destination_ae_title)
    if not association.is_established:
        _failed(deliveries, f"no association with {site.destination} (refused, aborted or unreachable)")
    try:
        for delivery, dataset in deliveries:
            status = association.send_c_store(dataset)
            code = getattr(status, "Status", None)
            if code not in STORED:
                _failed(deliveries, f"{delivery.get_kind_display()} not stored: status {_hex(code)}")
            ResultDelivery.objects.filter(pk=delivery.pk).update(
                state=ResultDelivery.State.SENT, sent_at=timezone.now(), last_error=""
            )
            log.info("sent %s of scan %s to %s", delivery.kind, delivery.scan_id, site.destination)
    finally:
        association.release()


def _hex(code) -> str:
    return "none (no answer)" if code is None else f"0x{code:04X}"


def _failed(deliveries: list, reason: str):
    unsent = [delivery.pk for delivery, _ in deliveries]
    ResultDelivery.objects.filter(pk__in=unsent).exclude(state=ResultDelivery.State.SENT).update(last_error=reason)
    raise DeliveryFailed(reason)


def give_up(scan_id: int, reason: str) -> None:
    """After the last retry: what is still unsent is marked failed, for an admin to see and resend."""
    unsent = ResultDelivery.objects.filter(scan_id=scan_id).exclude(state=ResultDelivery.State.SENT)
    unsent.update(state=ResultDelivery.State.FAILED, last_error=reason[:2000])
    log.error("gave up sending results of scan %s: %s", scan_id, reason)
