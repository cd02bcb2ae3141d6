"""Telling a site's PACS about a result: queued on commit, by task name, so that the reading and review
code that calls this imports nothing of how results are built or sent (hospitals.delivery)."""

from __future__ import annotations

import functools

from django.db import transaction

from portal.celery import app

# Registered by hospitals/tasks.py.
DELIVER_RESULTS_TASK = "hospitals.tasks.deliver_results"


def send_results_to_site(scan) -> bool:
    """Queue sending the scan's results to its site once the transaction commits; True when queued.

    robust: a broker that is down must not undo a reading or a signed review. Beat's sweeper
    (hospitals.delivery.resend_undelivered) queues what was never sent."""
    if not scan.site_id:
        return False
    send = functools.partial(app.send_task, DELIVER_RESULTS_TASK, kwargs={"scan_id": scan.pk})
    transaction.on_commit(send, robust=True)
    return True
