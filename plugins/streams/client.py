"""One HTTP connection to a destination, kept open across the batches of one sending round.

The standard library's ``http.client`` is enough here: one POST at a time, a timeout on every
step, no redirect followed (a destination that moved answers 3xx, which counts as a failure
naming the new place, rather than records going somewhere nobody chose).
"""

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "ActivityStream-LogStream/1"


@dataclass
class Answer:
    """What the destination answered: its status (None when it never answered), how long it
    took (ms), and the error that ended the request, if any."""

    status: int | None
    latency_ms: int
    error: str = ""

    @property
    def ok(self):
        """Tell whether the destination took the records (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


class Connection:
    """POSTs to one URL, reusing the connection while the destination keeps it open."""

    def __init__(self, url, timeout):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.connection = None

    def _open(self):
        if self.https:
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        connection.connect()
        # http.client writes the headers and the body apart: without this, the body waits for
        # the receiver's delayed ACK (some 40 ms a request).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def post(self, body, headers):
        """POST ``body`` (bytes) with ``headers``; return an ``Answer`` (never raises)."""
        started = time.monotonic()
        for fresh in (False, True):
            try:
                if self.connection is None or fresh:
                    self.close()
                    self.connection = self._open()
                self.connection.request("POST", self.path, body=body, headers=headers)
                response = self.connection.getresponse()
                response.read(65536)  # what a receiver says is not kept, only its status
                if response.will_close:
                    self.close()
                error = ""
                if response.status >= 300:
                    where = response.getheader("Location")
                    error = f"answered {response.status} {response.reason}".strip()
                    error += f" (to {where[:200]})" if where else ""
                return Answer(response.status, _ms(started), error)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if fresh:  # a new connection failed too: the destination is down
                    self.close()
                    return Answer(None, _ms(started), "the connection was closed")
                # A kept-alive connection the receiver closed meanwhile: try once anew.
            except (OSError, http.client.HTTPException) as error:
                self.close()
                return Answer(None, _ms(started), _describe(error))
        return Answer(None, _ms(started), "no answer")  # not reached

    def close(self):
        """Close the connection, if open."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _ms(started):
    return int((time.monotonic() - started) * 1000)


def _describe(error):
    if isinstance(error, TimeoutError):
        return "no answer within the timeout"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"[:300]
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{type(error).__name__}: {error}"[:300]
