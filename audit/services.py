"""Writing audit events from a request: who (the user), from where (address, browser) and what."""

from __future__ import annotations

import ipaddress

from allauth.account.adapter import get_adapter
from django.core.exceptions import PermissionDenied

from audit.models import AuditEvent

Action = AuditEvent.Action
# The largest id an integer column holds: a larger one, typed into a URL, names nothing that exists.
LARGEST_ID = 2**63 - 1


def record(request, action: str, target=None, *, object_type: str = "", object_id=None, scan_id=None, detail=""):
    """Record one event about `target` (a model instance), or about an object named by type and id."""
    event = _event(request, action, detail)
    if target is not None:
        object_type, object_id, scan_id = _describe(target)
    if not all(_storable(value) for value in (object_id, scan_id)):
        event.detail = f"{detail} (id out of range: {str(object_id)[:40]})".strip()[:255]
        object_id = scan_id = None
    event.object_type, event.object_id, event.scan_id = object_type, object_id, scan_id
    event.save()
    return event


def _storable(value) -> bool:
    return value is None or 0 <= int(value) <= LARGEST_ID


def record_many(request, action: str, targets, *, detail: str = "") -> None:
    """One event per target in one INSERT, for admin actions on many rows."""
    events = []
    for target in targets:
        event = _event(request, action, detail)
        event.object_type, event.object_id, event.scan_id = _describe(target)
        events.append(event)
    AuditEvent.objects.bulk_create(events)


def _event(request, action: str, detail: str) -> AuditEvent:
    user = getattr(request, "user", None)
    return AuditEvent(
        actor=user if user is not None and user.is_authenticated else None,
        action=action,
        detail=detail[:255],
        path=request.get_full_path()[:512],
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
    )


def _describe(target) -> tuple[str, int, int | None]:
    object_type = target._meta.model_name
    scan_id = target.pk if object_type == "scan" else getattr(target, "scan_id", None)
    return object_type, target.pk, scan_id


def client_address(request) -> str | None:
    """The client's address by the rule login throttling uses (allauth, TRUSTED_PROXY_COUNT): the address
    the outermost trusted proxy saw, never a forwarded-for entry the client could have written itself.
    A header that does not match the proxy count leaves the direct peer's address."""
    try:
        value = get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        value = request.META.get("REMOTE_ADDR")
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None
