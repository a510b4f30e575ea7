"""Demo mail: the delivery of every message the demo queued (the host platform's
notifications and Private Messages, sent by its own demo through the real path).

Without an SMTP server (the demo's default) each message ends "kept in the local outbox", by
the sender itself; a few Private Messages are handed to a loopback port where nothing listens,
so the tab also shows failed messages, with the real "connection refused" error.
"""

import socket
from dataclasses import replace

from flask import current_app

from plugins.email import sender
from plugins.email.models import PRIVATE_MESSAGE
from plugins.email.models import QUEUED
from plugins.email.models import EmailMessage

FAILED_EVERY = 17  # every 17th Private Message is handed to a port where nothing listens


def deliver_demo():
    """Deliver the demo's queued mail (the demo host platform's notifications and Private
    Messages), unless the outbox has been at work already; return how many were delivered.

    Only an outbox that nothing has tried yet is the demo's: on a second run, or an install
    that sends mail, queued messages are left to the task consumer."""
    if EmailMessage.select().where(EmailMessage.status != QUEUED).exists():
        return 0
    queued = EmailMessage.select(EmailMessage.id, EmailMessage.kind).where(
        EmailMessage.status == QUEUED
    )
    return deliver_demo_messages(list(queued.order_by(EmailMessage.id)))


def deliver_demo_messages(rows):
    """Deliver ``rows`` now (kept without SMTP), a few Private Messages to a dead port."""
    settings = current_app.extensions["email.settings"]
    with socket.socket() as unused:  # bound, never listening: every connection is refused
        unused.bind(("127.0.0.1", 0))
        dead = replace(settings, smtp_url=f"smtp://127.0.0.1:{unused.getsockname()[1]}", timeout=2)
        for index, row in enumerate(rows):
            if row.kind == PRIVATE_MESSAGE and index % FAILED_EVERY == FAILED_EVERY - 1:
                sender.deliver(row.id, dead, final=True)
            elif not settings.smtp_url:
                sender.deliver(row.id, settings)
    return len(rows)
