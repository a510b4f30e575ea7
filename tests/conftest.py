"""The suite's fixtures come from ``core.testing`` (a pytest plugin installed with the package,
so plugins' tests share them); the helpers are re-exported here for the tests that import them.
"""

from pathlib import Path

import pytest

from core.testing import PASSWORD  # noqa: F401
from core.testing import POSTGRES_ADMIN_URL  # noqa: F401
from core.testing import REDIS_URL  # noqa: F401
from core.testing import csrf_token_of  # noqa: F401
from core.testing import require_services  # noqa: F401
from core.testing import rows_seen_by  # noqa: F401
from core.testing import sign_in  # noqa: F401
from core.testing import skip_or_fail
from core.testing import stop_process  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Launch Debian's headless Chromium once for the session (Playwright's sync API allows one
    instance per thread, so browser tests and the scale tests share this one)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def no_refusal_wait(monkeypatch):
    """Let a refused sign-in (a locked name or address) answer at once instead of sleeping as
    long as a password check: for tests that send many refused sign-ins and check what they
    answer, not how long they take. The password checks themselves still run."""
    import time
    from types import SimpleNamespace

    from core.auth import views

    monkeypatch.setattr(
        views, "time", SimpleNamespace(perf_counter=time.perf_counter, sleep=lambda seconds: None)
    )


class SmtpInbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    ``answer`` (e.g. ``"550 5.1.1 no such user"``) makes it refuse every message with that
    reply instead; ``stop()`` and ``start()`` take it down and bring it back on the same port.
    """

    def __init__(self, port):
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"
        self.received = []  # aiosmtpd envelopes: mail_from, rcpt_tos, content (bytes)
        self.answer = None
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        """Keep the message (or refuse it with ``answer``)."""
        if self.answer:
            return self.answer
        self.received.append(envelope)
        return "250 2.0.0 Message accepted for delivery"

    def start(self):
        """Start listening (again) on the port."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        """Stop listening: connections are refused until ``start``."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self):
        """Return the accepted messages, parsed (``email.message.EmailMessage``)."""
        import email
        import email.policy

        return [
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            for envelope in self.received
        ]


@pytest.fixture
def smtp_server():
    """Run a real SMTP server on a free loopback port for the test; yield its ``SmtpInbox``."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = SmtpInbox(port)
    inbox.start()
    yield inbox
    inbox.stop()


# A password the sign-in tests type (tests/core/test_signins*.py, tests/plugins/test_logins*.py)
# and that no file of the run may hold: databases, write-ahead logs, queues, server logs.
SIGN_IN_CANARY = "canary-Pw-7f3b9e1c"


@pytest.fixture(scope="session", autouse=True)
def sign_in_canary_left_nowhere(tmp_path_factory):
    """After the whole run, fail if any file under the run's temporary folder holds the
    sign-in canary password."""
    yield
    needle = SIGN_IN_CANARY.encode()
    found = []
    for path in tmp_path_factory.getbasetemp().rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue  # a file removed meanwhile
    assert found == [], f"the sign-in canary password was written to {found[:5]}"
