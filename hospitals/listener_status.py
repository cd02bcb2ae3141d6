"""The running listener writes what it holds and has refused to its ListenerStatus row, for /metrics in
the web process, and reads back the addresses that have a reserved share of its connections.

The row lives in the database, as workers' heartbeats do: every set-up (make run, docker-compose) shares
it between processes and containers, which the default cache and a local folder are not.
"""

from __future__ import annotations

import logging
import os
import socket

from django.db import DatabaseError, connection
from django.utils import timezone

from hospitals.admission import Gate
from hospitals.models import ListenerStatus, SiteAETitle

log = logging.getLogger(__name__)


class Reporter:
    def __init__(self, gate: Gate, name: str | None = None):
        self.gate = gate
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"

    def report(self) -> None:
        """Write the counts now and refresh the known addresses; a database error only costs this round."""
        self.gate.flush_log()
        state = self.gate.snapshot()
        try:
            ListenerStatus.objects.update_or_create(
                listener=self.name,
                defaults={
                    "waiting": state.waiting,
                    "associations": state.associations,
                    "refusals": state.refusals,
                    "last_seen": timezone.now(),
                },
            )
            self.gate.known_hosts = known_site_hosts()
        except DatabaseError as error:
            log.warning("DICOM listener status not written: %s", error)
        finally:
            connection.close()  # never held between rounds

    def withdraw(self) -> None:
        """A stopped listener says so at once, rather than going stale."""
        try:
            ListenerStatus.objects.filter(listener=self.name).delete()
        except DatabaseError as error:
            log.warning("DICOM listener status not removed: %s", error)
        finally:
            connection.close()


def known_site_hosts() -> frozenset[str]:
    """The addresses an active site's AE title is bound to."""
    bound = SiteAETitle.objects.filter(site__is_active=True, host__isnull=False)
    return frozenset(bound.values_list("host", flat=True))
