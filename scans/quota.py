"""How much one user may upload in an hour: files and bytes, counted from the scans themselves.

Counted in the database, not a cache, so every web process and the API see the same count and a
restart forgets nothing. Web and API uploads share the allowance.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import timezone

WINDOW = timedelta(hours=1)


def refusal(user, size_bytes: int, now=None) -> tuple[str, int] | None:
    """(reason, seconds until it would be accepted) when this upload would exceed the hourly allowance."""
    now = now or timezone.now()
    recent = user.scans.filter(created_at__gte=now - WINDOW).aggregate(
        files=Count("pk"), bytes=Sum("size_bytes"), oldest=Min("created_at")
    )
    files, used = recent["files"], recent["bytes"] or 0
    if files + 1 <= settings.SCAN_UPLOADS_PER_HOUR and used + size_bytes <= settings.SCAN_UPLOAD_BYTES_PER_HOUR:
        return None
    wait = max(1, int((recent["oldest"] + WINDOW - now).total_seconds())) if recent["oldest"] else 3600
    at = timezone.localtime(now + timedelta(seconds=wait))
    reason = (
        f"You have uploaded {files} X-ray{'s' if files != 1 else ''} ({used / 1_000_000:.0f} MB) in the last hour, "
        f"the most we accept per hour ({settings.SCAN_UPLOADS_PER_HOUR} files, "
        f"{settings.SCAN_UPLOAD_BYTES_PER_HOUR // 1_000_000} MB). Nothing was stored; upload it again after {at:%H:%M}."
    )
    return reason, wait
