"""Who gets a connection to the C-STORE listener, and for how long, so that a flood cannot close it.

A connection is admitted at accept if its peer and the listener are under their limits. Until its
A-ASSOCIATE-RQ arrives it is *waiting*: it costs a thread and no association, and it is closed when it
sends nothing for DICOM_ACSE_TIMEOUT, the moment its peer closes it, or to make room for a newer
connection when a limit is reached (a live sender asks within milliseconds; the oldest silent
connection is the likeliest to be an attacker's). With none waiting, the association silent the longest
(for at least SILENT_ASSOCIATION_SECONDS) makes room instead: a sender mid-transfer is never silent that
long, and a PACS holding an idle association open reconnects. Only when neither is there is a newcomer
refused. Addresses a site's AE title is bound to (SiteAETitle.host) have DICOM_RESERVED_CONNECTIONS on
top of the total; AE titles are not secrets, so the reserve goes by address, which an attacker cannot
forge over TCP.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# A-ASSOCIATE-RQ, PS3.8 9.3.2: type 0x01, reserved, length (4 bytes), protocol version, reserved,
# called AE title (16), calling AE title (16).
REQUEST_HEADER = struct.Struct(">BxIHxx16s16s")
ASSOCIATE_RQ = 0x01
# A request proposing every storage SOP class in a dozen syntaxes is well under this; a peer declaring
# gigabytes would otherwise have pynetdicom read them into memory.
MAX_REQUEST_BYTES = 1024 * 1024
PARTIAL_HEADER_POLL_SECONDS = 0.01
# Silent this long, an association may be closed for a newcomer when its peer or the listener is full.
SILENT_ASSOCIATION_SECONDS = 1.0

# Why a connection was closed without an association; the labels of /metrics' refusals.
PEER_LIMIT = "peer_limit"  # refused at accept: its address holds all it may
LISTENER_FULL = "listener_full"  # refused at accept: every connection is taken by associations
MADE_ROOM = "made_room"  # closed while silent, for a newer connection
NO_REQUEST = "no_request"  # closed while waiting: nothing, or not an A-ASSOCIATE-RQ, within the timeout
UNKNOWN_CALLER = "unknown_calling_ae"  # its association was rejected: no active site calls from that AE title
REASONS = (PEER_LIMIT, LISTENER_FULL, MADE_ROOM, NO_REQUEST, UNKNOWN_CALLER)
WHY = {
    PEER_LIMIT: "refused at accept: the address is at its limit of connections",
    LISTENER_FULL: "refused at accept: the listener is at its limit of connections",
    MADE_ROOM: "closed while silent, to make room for a newer connection",
    NO_REQUEST: "closed: no association request in time",
    UNKNOWN_CALLER: "association rejected: unknown calling AE title",
}


@dataclass(eq=False)
class Connection:
    peer: str
    port: int
    sock: socket.socket
    opened: float
    waiting: bool = True
    last_heard: float = 0.0  # when a PDU last came on its association
    closed_for: str = ""  # set by the gate when it closes the connection to make room

    def close_for(self, reason: str) -> None:
        self.closed_for = reason
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting on it; that thread closes it
        except OSError:
            pass


@dataclass
class Limits:
    total: int
    reserved: int
    per_peer: int
    request_timeout: float
    log_interval: float

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            total=settings.DICOM_MAX_CONNECTIONS,
            reserved=settings.DICOM_RESERVED_CONNECTIONS,
            per_peer=settings.DICOM_MAX_CONNECTIONS_PER_PEER,
            request_timeout=settings.DICOM_ACSE_TIMEOUT,
            log_interval=settings.DICOM_REFUSAL_LOG_SECONDS,
        )

    @property
    def most(self) -> int:
        """Connections the listener ever holds at once: the most pynetdicom needs to allow."""
        return self.total + self.reserved


@dataclass
class Snapshot:
    waiting: int
    associations: int
    refusals: dict[str, int]


class Gate:
    """The listener's open connections, by peer; every method is called from several threads."""

    def __init__(self, limits: Limits, known_hosts: frozenset[str] = frozenset()):
        self.limits = limits
        self.known_hosts = known_hosts  # replaced whole by the status thread, never mutated
        self._lock = threading.Lock()
        self._open: dict[tuple[str, int], Connection] = {}  # by peer address and port, oldest first
        self._refusals: Counter[str] = Counter()
        self._log = RefusalLog(limits.log_interval)

    def admit(self, sock: socket.socket, peer: str, port: int) -> Connection | None:
        """At accept: the connection, counted, or None when it is refused (the caller closes it)."""
        with self._lock:
            mine = [connection for connection in self._open.values() if connection.peer == peer]
            if len(mine) >= self.limits.per_peer and not self._make_room(mine):
                return self._refuse(peer, PEER_LIMIT)
            total = self.limits.most if peer in self.known_hosts else self.limits.total
            if len(self._open) >= total and not self._make_room(list(self._open.values())):
                return self._refuse(peer, LISTENER_FULL)
            connection = Connection(peer, port, sock, time.monotonic())
            self._open[peer, port] = connection
            return connection

    def await_request(self, connection: Connection) -> bool:
        """Wait, up to the timeout, for the connection's A-ASSOCIATE-RQ; True when it came and the
        connection is now an association's, False when the connection is to be closed."""
        header = read_request_header(connection.sock, connection.opened + self.limits.request_timeout)
        with self._lock:
            if connection.closed_for or header == b"":  # the gate closed it, or its peer did: no refusal
                return False
            if header is None or not is_association_request(header):
                self._refusals[NO_REQUEST] += 1
                self._log.refused(connection.peer, NO_REQUEST)
                return False
            connection.waiting = False
            connection.last_heard = time.monotonic()
            return True

    def rejected(self, peer: str, reason: str, detail: str = "") -> None:
        """An association of this peer was rejected (counted and logged like a refusal at accept)."""
        with self._lock:
            self._refuse(peer, reason, detail)

    def heard(self, peer: str, port: int) -> None:
        """A PDU came on this peer's association (pynetdicom's EVT_PDU_RECV)."""
        with self._lock:
            if connection := self._open.get((peer, port)):
                connection.last_heard = time.monotonic()

    def release(self, connection: Connection) -> None:
        """Its socket is closed: the slot is free (if making room did not free it already)."""
        with self._lock:
            if self._open.get((connection.peer, connection.port)) is connection:
                del self._open[connection.peer, connection.port]

    def close_all(self) -> None:
        with self._lock:
            for connection in self._open.values():
                connection.close_for("shutdown")

    def snapshot(self) -> Snapshot:
        with self._lock:
            waiting = sum(connection.waiting for connection in self._open.values())
            refusals = {reason: self._refusals[reason] for reason in REASONS}
            return Snapshot(waiting, len(self._open) - waiting, refusals)

    def flush_log(self) -> None:
        with self._lock:
            self._log.flush()

    def _make_room(self, connections: list[Connection]) -> bool:
        """Close the oldest of these still waiting, else the association silent the longest if it has
        been silent long enough; False when none may be closed. The lock is held."""
        victim = next((c for c in connections if c.waiting and has_sent_nothing(c.sock)), None)
        if victim is None:
            silent_since = time.monotonic() - SILENT_ASSOCIATION_SECONDS
            victim = min(connections, key=lambda c: c.last_heard, default=None)
            if victim is None or victim.last_heard > silent_since:
                return False
        victim.close_for(MADE_ROOM)
        del self._open[victim.peer, victim.port]  # its slot is free now; its thread only closes the socket
        self._refusals[MADE_ROOM] += 1
        self._log.refused(victim.peer, MADE_ROOM)
        return True

    def _refuse(self, peer: str, reason: str, detail: str = "") -> None:
        self._refusals[reason] += 1
        self._log.refused(peer, reason, detail)
        return None


def read_request_header(sock: socket.socket, deadline: float) -> bytes | None:
    """The first bytes of what the peer sent, left in the socket for pynetdicom to read; b"" when the
    connection was closed (by the peer, or shut down by the gate), None when too few came by the deadline."""
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            readable, _, _ = select.select([sock], [], [], remaining)
            if not readable:
                return None
            head = sock.recv(REQUEST_HEADER.size, socket.MSG_PEEK)
        except (OSError, ValueError):
            return b""
        if not head:
            return b""
        if len(head) == REQUEST_HEADER.size:
            return head
        time.sleep(PARTIAL_HEADER_POLL_SECONDS)  # part of the header: select would answer at once
    return None


def has_sent_nothing(sock: socket.socket) -> bool:
    """Whether no byte has come on this connection, without waiting: one whose request arrived before its
    thread got to read it (under load, that takes a while) is a sender, not a silent connection."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""  # b"": closed, as good as silent
    except BlockingIOError:
        return True
    except OSError:
        return True


def is_association_request(header: bytes) -> bool:
    pdu_type, length, _version, _called, _calling = REQUEST_HEADER.unpack(header)
    return pdu_type == ASSOCIATE_RQ and length <= MAX_REQUEST_BYTES


@dataclass
class RefusalLog:
    """One warning per peer and reason per interval, saying how many there were: a flood is thousands
    of refusals a second, and one line each would fill the disk and bury everything else."""

    interval: float
    _last: dict[tuple[str, str], float] = field(default_factory=dict)
    _unlogged: Counter[tuple[str, str]] = field(default_factory=Counter)
    _detail: dict[tuple[str, str], str] = field(default_factory=dict)  # the latest, e.g. the AE title

    def refused(self, peer: str, reason: str, detail: str = "") -> None:
        key = (peer, reason)
        self._unlogged[key] += 1
        self._detail[key] = detail
        if time.monotonic() - self._last.get(key, float("-inf")) >= self.interval:
            self._write(key)

    def flush(self) -> None:
        """Write the counts held back for longer than the interval, and forget quiet peers."""
        now = time.monotonic()
        for key, last in list(self._last.items()):
            if now - last >= self.interval:
                if self._unlogged[key]:
                    self._write(key)
                else:
                    del self._last[key], self._unlogged[key], self._detail[key]

    def _write(self, key: tuple[str, str]) -> None:
        peer, reason = key
        count, detail = self._unlogged.pop(key), self._detail.get(key, "")
        log.warning(
            "DICOM connection from %s %s%s (%d in the last %g s)", peer, WHY[reason], detail, count, self.interval
        )
        self._last[key] = time.monotonic()
