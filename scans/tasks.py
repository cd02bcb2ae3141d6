"""Celery tasks of the scans app: thin wrappers that take primary keys."""

from portal.celery import house_task
from scans import notifications


@house_task()
def email_result_ready(*, scan_id: int) -> None:
    notifications.send_result_ready_email(scan_id)
