"""A request body read within a deadline: a client that declares a body and then sends it too slowly, or
not at all, holds a web worker that long and no longer.

The worker's reads block on the client's socket; at the deadline the socket's reading side is shut, which
wakes a blocked read at once with the end of the body (Linux: no read blocks after it). The socket is the
one gunicorn names in the WSGI environ, or the one under Django's own server's file object (runserver and
the tests' live server); under another server the body is read without a deadline.
"""

from __future__ import annotations

import socket
import threading

from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException

CHUNK_BYTES = 1024 * 1024


class BodyTimeout(APIException):
    status_code = status.HTTP_408_REQUEST_TIMEOUT
    default_code = "request_timeout"

    def __init__(self, seconds: float):
        super().__init__(f"The request body did not arrive within {seconds:g} seconds; send it again.")


class BodyDeadline:
    """Started as a request is taken up; read() reads its body, finish() ends it whatever happened."""

    def __init__(self, request: HttpRequest, seconds: float):
        self.request, self.seconds = request, seconds
        self.declared = _declared_length(request)
        self.socket = connection_socket(request)
        self.expired = threading.Event()
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        if self.socket is not None:
            self.timer.start()

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of the body, or BodyTimeout when it did not all come in time."""
        body = self.request.read(size)
        if self.expired.is_set() and len(body) < min(size, self.declared):
            raise BodyTimeout(self.seconds)
        return body

    def finish(self, too_large: bool = False) -> None:
        """Read and drop what is left of the body within the deadline (Django's server would wait for it
        after the answer; gunicorn would not), or stop reading at once when it is too large to want."""
        try:
            if too_large:
                self._stop_reading()
            while not self.expired.is_set() and self.request.read(CHUNK_BYTES):
                pass
        except OSError:  # the client went
            pass
        finally:
            self.timer.cancel()

    def _expire(self) -> None:
        self.expired.set()
        self._stop_reading()

    def _stop_reading(self) -> None:
        if self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_RD)
            except OSError:  # already closed
                pass


def connection_socket(request: HttpRequest) -> socket.socket | None:
    """The client's socket under gunicorn or Django's own server, else None."""
    environ = request.META
    if isinstance(environ.get("gunicorn.socket"), socket.socket):
        return environ["gunicorn.socket"]
    # Django's server: wsgi.input is a LimitedStream over the handler's buffered socket file.
    reader = getattr(getattr(environ.get("wsgi.input"), "_read", None), "__self__", None)
    found = getattr(getattr(reader, "raw", None), "_sock", None)
    return found if isinstance(found, socket.socket) else None


def _declared_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0
