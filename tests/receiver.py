"""A real HTTP receiver on loopback for log stream tests and benches: it keeps every request
it is sent (headers and exact body) and answers what it is told to."""

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from core import signing


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) keeping each POST; ``status`` is what it
    answers (change it to make the destination fail)."""

    def __init__(self, status=200):
        self.status = status
        self.requests = []  # (headers dict, body bytes)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer's parts go out at once

            def do_POST(self):  # the name http.server calls
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) != length:
                    # The sender went away mid-body (a killed consumer): no request arrived,
                    # as for any HTTP server; the sender never had an answer and sends again.
                    self.close_connection = True
                    return
                with receiver.lock:
                    status = receiver.status
                    if 200 <= status < 300:
                        receiver.requests.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/intake"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self):
        """Return the JSON bodies received (with 2xx answers), in order."""
        with self.lock:
            return [json.loads(body) for _, body in self.requests]

    def records(self):
        """Return every record received, in order (repeats included)."""
        return [record for body in self.bodies() for record in body["records"]]

    def verify_all(self, secret):
        """Check every request's signature with ``secret`` (raises ``BadSignature``)."""
        with self.lock:
            for headers, body in self.requests:
                signing.verify(secret, headers.get(signing.HEADER), body)
