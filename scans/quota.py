"""How much one user may upload in an hour: files and bytes, counted from the scans themselves.

Counted in the database, not a cache, so every web process and the API see the same count and a
restart forgets nothing. Web and API uploads share the allowance.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.utils import formats, timezone
from django.utils.translation import ngettext

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
    # Translators: used and limit_size are in megabytes; time is a time of day such as "14:05".
    reason = ngettext(
        "You have uploaded %(files)s X-ray (%(used)s MB) in the last hour, the most we accept per hour "
        "(%(limit_files)s files, %(limit_size)s MB). Nothing was stored; upload it again after %(time)s.",
        "You have uploaded %(files)s X-rays (%(used)s MB) in the last hour, the most we accept per hour "
        "(%(limit_files)s files, %(limit_size)s MB). Nothing was stored; upload it again after %(time)s.",
        files,
    ) % {
        "files": files,
        "used": f"{used / 1_000_000:.0f}",
        "limit_files": settings.SCAN_UPLOADS_PER_HOUR,
        "limit_size": settings.SCAN_UPLOAD_BYTES_PER_HOUR // 1_000_000,
        "time": formats.time_format(at, "H:i"),
    }
    return reason, wait
