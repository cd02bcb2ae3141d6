"""Each log line carries the scan and the Celery task it is about, where there is one."""

from __future__ import annotations

import contextlib
import contextvars
import logging

_scan_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("scan_id", default=None)


@contextlib.contextmanager
def about_scan(scan_id: int):
    """Log lines written inside this block name the scan."""
    token = _scan_id.set(scan_id)
    try:
        yield
    finally:
        _scan_id.reset(token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from celery import current_task

        record.scan_id = _scan_id.get()
        request = getattr(current_task, "request", None) if current_task else None
        record.task_id = getattr(request, "id", None)
        return True
