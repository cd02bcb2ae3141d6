"""The C-STORE listener hospitals' modalities and PACS send chest X-rays to: only from a site's calling AE
titles, and each instance through hospitals.intake, the same validation and queue as a parent's upload.

It runs as its own process (manage.py dicom_listener); pynetdicom runs each association in a thread.
Who gets a connection, and for how long, is hospitals.admission's; what it holds is written for /metrics
by hospitals.listener_status.
"""

from __future__ import annotations

import gc
import logging
import signal
import socketserver
import threading

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from pydicom import uid
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts
from pynetdicom.sop_class import Verification
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from hospitals import listener_status
from hospitals.admission import UNKNOWN_CALLER, Gate, Limits
from hospitals.intake import OUT_OF_RESOURCES, Refused, receive, site_for_calling_ae
from hospitals.models import DicomOrigin

log = logging.getLogger(__name__)

# Uncompressed, and the compressions CR and DX systems send that scans.validation decodes.
TRANSFER_SYNTAXES = [
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRBigEndian,
    uid.JPEGLosslessSV1,
    uid.JPEGLossless,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLSLossless,
    uid.JPEGLSNearLossless,
    uid.JPEG2000Lossless,
    uid.JPEG2000,
    uid.RLELossless,
]

# A-ASSOCIATE-RJ (result, source, diagnostic), PS3.8 9.3.4.
CALLING_AE_NOT_RECOGNISED = (0x01, 0x01, 0x03)  # rejected-permanent: do not retry
TRY_AGAIN_LATER = (0x02, 0x01, 0x01)  # rejected-transient, no reason given

SUCCESS = 0x0000
NOT_AUTHORISED = 0x0124
ERROR_COMMENT_LENGTH = 64  # ErrorComment is an LO
ECHO_AE_TITLE = "PNEUMONIA_ECHO"


def build_listener(ae_title: str | None = None) -> AE:
    """An AE that accepts every storage SOP class, so a CT or MR is refused with a status the sender logs
    rather than by a negotiation it may not report, and C-ECHO."""
    ae = AE(ae_title=ae_title or settings.DICOM_AE_TITLE)
    ae.require_called_aet = True  # a sender configured for another AE title hears so at once
    # pynetdicom's defaults (30 s, 60 s) let a few idle peers hold every slot for a minute.
    ae.acse_timeout = settings.DICOM_ACSE_TIMEOUT
    ae.network_timeout = settings.DICOM_NETWORK_TIMEOUT
    ae.dimse_timeout = settings.DICOM_DIMSE_TIMEOUT
    # The gate bounds connections first; pynetdicom's own count (its default is 10) must not refuse before it,
    # even while the threads of associations the gate has just closed are ending.
    ae.maximum_associations = 2 * Limits.from_settings().most
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    return ae


def admit_known_callers(event, gate: Gate) -> None:
    """EVT_REQUESTED: refuse an association from a calling AE title no active site sends from; the gate
    counts it and logs it once per peer and interval, as a flood of them would otherwise fill the log.

    The sites are read at each association, so one added in the admin can send at once. pynetdicom only
    logs a notification handler's exception and accepts the association anyway, so every failure here
    refuses it."""
    assoc = event.assoc
    calling, address = assoc.requestor.primitive.calling_ae_title, assoc.requestor.address
    try:
        site = site_for_calling_ae(calling, address)
    except Exception:
        log.exception("association from %s at %s refused: the sites could not be read", calling, address)
        _reject(assoc, TRY_AGAIN_LATER)
        return
    finally:
        connections.close_all()
    if site is None:
        gate.rejected(address, UNKNOWN_CALLER, f" {calling!r}")
        _reject(assoc, CALLING_AE_NOT_RECOGNISED)


def _reject(assoc, reason: tuple[int, int, int]) -> None:
    # As pynetdicom's own acceptor rejects: the A-ASSOCIATE-RJ, then wait for the peer to close.
    assoc.acse.send_reject(*reason)
    assoc.kill()


def store(event) -> int | Dataset:
    """EVT_C_STORE: one instance into a queued scan of the calling site; the status says how it went.

    received_at is when pynetdicom handed over the instance, which it does once the last byte arrived.
    Connections are closed before returning: an association's thread ends with no hook on every path
    (a dropped connection, a timeout), and a connection it kept would stay open until collected."""
    received_at = timezone.now()
    calling, address = event.assoc.requestor.ae_title, event.assoc.requestor.address
    close_old_connections()
    try:
        site = site_for_calling_ae(calling, address)
        if site is None:  # deactivated, or its AE title removed, since the association began
            raise Refused(f"{calling} may no longer send to this portal.", NOT_AUTHORISED)
        received = receive(
            event.encoded_dataset(), site=site, via=DicomOrigin.Via.C_STORE, calling_ae_title=calling,
            received_at=received_at,
        )  # fmt: skip
    except Refused as refusal:
        log.info("C-STORE from %s answered 0x%04X: %s", calling, refusal.status, refusal.reason)
        return failure(refusal.status, refusal.reason)
    except Exception:
        log.exception("C-STORE from %s failed", calling)
        return failure(OUT_OF_RESOURCES, "The portal could not take the instance now; send it again later.")
    finally:
        connections.close_all()
    if not received.created:
        log.info("C-STORE from %s: instance already received as scan %s", calling, received.scan.pk)
    return SUCCESS


def failure(status: int, reason: str) -> Dataset:
    answer = Dataset()
    answer.Status = status
    answer.ErrorComment = error_comment(reason)
    return answer


def error_comment(reason: str) -> str:
    """The reason as the sender's log shows it: an LO, so 64 plain characters without a backslash; the
    first sentence, cut at a word if it is longer."""
    plain = reason.encode("ascii", "replace").decode().replace("\\", "/")
    sentence = plain.split(". ", 1)[0].strip()
    if len(sentence) <= ERROR_COMMENT_LENGTH:
        return sentence
    return sentence[:ERROR_COMMENT_LENGTH].rsplit(" ", 1)[0]


def heard(event, gate: Gate) -> None:
    """EVT_PDU_RECV: the association is alive, so it is not the one to close to make room."""
    gate.heard(event.assoc.requestor.address, event.assoc.requestor.port)


def handlers(gate: Gate) -> list:
    return [
        (evt.EVT_REQUESTED, admit_known_callers, [gate]),
        (evt.EVT_C_STORE, store),
        (evt.EVT_PDU_RECV, heard, [gate]),
    ]


class GuardedServer(ThreadedAssociationServer):
    """pynetdicom's server, with each connection admitted by the gate at accept and held by it until its
    socket closes: no association is made for a connection until its A-ASSOCIATE-RQ has arrived."""

    # The kernel's queue of connections not yet accepted (socketserver's default is 5). Full, it drops a
    # sender's SYN and the sender's connect tries again a second later; very long, a sender's connection
    # waits behind the whole flood for its turn at accept. bench/dicom_flood.py --churn chose this.
    request_queue_size = 128

    def __init__(self, *args, gate: Gate, **kwargs):
        self.gate = gate
        self._admitted = {}
        super().__init__(*args, **kwargs)

    def verify_request(self, request, client_address) -> bool:
        """In the accepting thread: False closes the connection at once (socketserver's contract)."""
        connection = self.gate.admit(request, *client_address[:2])
        if connection is not None:
            self._admitted[request] = connection
        return connection is not None

    def process_request(self, request, client_address) -> None:
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started for it: nothing else will free its slot
            self.gate.release(self._admitted.pop(request))
            raise

    def process_request_thread(self, request, client_address) -> None:
        """The connection's own thread, from accept until its socket is closed."""
        connection = self._admitted.pop(request)
        try:
            if self.gate.await_request(connection):
                # A peer stalling inside a PDU would block pynetdicom's read for ever otherwise.
                request.settimeout(self.ae.network_timeout)
                self.RequestHandlerClass(request, client_address, self).association.join()
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.gate.release(connection)
            self.shutdown_request(request)

    def service_actions(self) -> None:
        """Nothing: pynetdicom collects garbage every 60 connections, which a flood turns into several
        full collections a second in the accepting thread; the listener collects at each status round."""

    def shutdown(self) -> None:
        """Stop accepting, and close every connection so that their threads end."""
        socketserver.BaseServer.shutdown(self)  # pynetdicom's would unlist it from an AE it was never listed in
        self.gate.close_all()
        self.server_close()


class AssociationHandler(RequestHandler):
    """pynetdicom's handler, keeping the association it starts so that the connection's thread can wait
    for its end."""

    def _create_association(self):
        self.association = super()._create_association()
        return self.association


def serve(
    *, address: str | None = None, port: int | None = None, ae_title: str | None = None, block: bool = True
) -> GuardedServer:
    """Listen on the address and port of the settings unless given (port 0: any free one).

    block=True (the management command) serves until SIGTERM or SIGINT, writing its status for /metrics,
    then closes the connections; block=False returns the running server at once: its server_address says
    where, shutdown() stops it.
    """
    ae = build_listener(ae_title)
    bind = (address or settings.DICOM_BIND_ADDRESS, settings.DICOM_PORT if port is None else port)
    gate = Gate(Limits.from_settings())
    server = ae.make_server(
        bind, evt_handlers=handlers(gate), server_class=GuardedServer, request_handler=AssociationHandler, gate=gate
    )
    threading.Thread(target=server.serve_forever, name="dicom-accept", daemon=True).start()
    host, bound_port = server.server_address[:2]
    log.info("DICOM listener %s on %s:%d", ae.ae_title, host, bound_port)
    if block:
        _serve_until_stopped(server)
    return server


def _serve_until_stopped(server: GuardedServer) -> None:
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    reporter = listener_status.Reporter(server.gate)
    reporter.report()
    while not stopped.wait(settings.DICOM_STATUS_SECONDS):
        gc.collect()  # ended associations' reference cycles, as pynetdicom's server would
        reporter.report()
    log.info("DICOM listener stopping")
    server.shutdown()
    reporter.withdraw()


def echo(host: str, port: int, *, called_ae_title: str, calling_ae_title: str = ECHO_AE_TITLE, timeout=10) -> str:
    """C-ECHO a listener: "ok"; "unknown calling AE title" when it answered but refuses this caller (it
    read the sites to say so); or why there was no echo."""
    ae = AE(ae_title=calling_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(Verification)
    assoc = ae.associate(host, port, ae_title=called_ae_title)
    if assoc.is_rejected:
        rejection = assoc.acceptor.primitive
        answer = (rejection.result, rejection.result_source, rejection.diagnostic)
        return "unknown calling AE title" if answer == CALLING_AE_NOT_RECOGNISED else f"rejected {answer}"
    if not assoc.is_established:
        return "no answer"
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    return "ok" if status and status.Status == SUCCESS else "echo failed"
