"""Which head reads a film, and how staff switch heads: activation and rollback, each audited.

A site's study is read by its site's active head, else the installation's; a patient's upload by the
installation's; with none active, by the shipped head. A head fitted for another network is never used.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from adaptation.models import ReadingHead
from adaptation.network import network_version as current_network_version
from audit.models import AuditEvent
from audit.services import record
from ml.heads import Head

Action = AuditEvent.Action
SHIPPED = "the shipped head"


class NotActivatable(Exception):
    """The head failed its guardrails (or was fitted for another network), so it may not read films."""


def active_head(site_id: int | None, network_version: str) -> ReadingHead | None:
    heads = ReadingHead.objects.filter(active=True, base_model_version=network_version)
    mine = Q(site_id=site_id) | Q(site__isnull=True) if site_id else Q(site__isnull=True)
    return heads.filter(mine).order_by(F("site_id").asc(nulls_last=True)).first()


def head_for(scan, network_version: str | None = None) -> tuple[Head | None, str]:
    """The head that reads this scan and the label it adds to the reading's version; (None, "") means
    the shipped head (Predictor.predict's default)."""
    head = active_head(scan.site_id, network_version or current_network_version())
    return (head.as_head(), head.label) if head else (None, "")


def activate(head: ReadingHead, actor=None, *, request=None, via: str = "") -> ReadingHead:
    """Make the head its site's active one (the previous goes back to the shelf), and audit who did it."""
    if not head.may_activate:
        raise NotActivatable(f"{head.label} failed its guardrails: {head.refusal}")
    if head.base_model_version != current_network_version():
        raise NotActivatable(f"{head.label} was fitted for {head.base_model_version}, not the serving network.")
    with transaction.atomic():
        ReadingHead.objects.of(head.site).filter(active=True).select_for_update().update(active=False)
        head.active, head.activated_at = True, timezone.now()
        head.save(update_fields=["active", "activated_at"])
        _audit(request, actor, head, f"activated reading head {head.label} ({_whose(head.site)})", via)
    return head


def roll_back_to_shipped(site, actor=None, *, request=None, via: str = "") -> int:
    """No adapted head for the site: its films are read by the installation's head, or the shipped one."""
    with transaction.atomic():
        count = ReadingHead.objects.of(site).filter(active=True).update(active=False)
        _audit(request, actor, None, f"rolled back to {SHIPPED} ({_whose(site)})", via)
    return count


def _whose(site) -> str:
    return f"site {site.pk} {site.name}" if site is not None else "the installation"


def _audit(request, actor, head: ReadingHead | None, detail: str, via: str) -> None:
    """Through the request on the page; from the command line, with no request, the command's name."""
    if request is not None:
        if head is None:
            record(request, Action.CHANGED, object_type="readinghead", detail=detail)
        else:
            record(request, Action.CHANGED, head, detail=detail)
        return
    AuditEvent.objects.create(
        actor=actor,
        action=Action.CHANGED,
        object_type="readinghead",
        object_id=head.pk if head else None,
        detail=detail[:255],
        path=via[:512],
    )
