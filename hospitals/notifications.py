"""Telling a site's PACS about a result: queued on commit, by task name, so that the reading and review
code that calls this imports nothing of how results are built or sent (hospitals.delivery)."""

from __future__ import annotations

from portal.celery import send_after_commit

# Registered by hospitals/tasks.py.
DELIVER_RESULTS_TASK = "hospitals.tasks.deliver_results"


def send_results_to_site(scan) -> bool:
    """Queue sending the scan's results to its site once the transaction commits; True when queued.

    Beat's sweeper (actions.readings.resend_undelivered_results) queues what a broker outage left unsent."""
    if not scan.site_id:
        return False
    send_after_commit(DELIVER_RESULTS_TASK, scan_id=scan.pk)
    return True
