"""Sending: claim a queued message, hand it to the SMTP server, record how it went.

The delivery guarantee is at-least-once, with one Message-ID per message:

1. ``claim`` moves the row from ``queued`` to ``sending`` (one statement, so two workers can
   never both claim it) and gives it a lease;
2. the message goes to the SMTP server (``smtp.transmit``);
3. ``finish`` records the server's answer (``sent``) or the error, in one transaction.

A process that dies between 2 and 3 leaves the row ``sending``; once its lease has run out,
``sweep`` queues it again and it is sent a second time, with the same Message-ID (so a
receiving system can tell). That window is the only way to get a duplicate. Temporary failures
(4xx answers, a refused or dropped connection) are retried with a doubling wait, up to
``EMAIL_MAX_ATTEMPTS`` tries; permanent ones (5xx) are failed at once.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from core.db import database
from core.db import utcnow
from core.records import clip
from plugins.email import smtp
from plugins.email.models import FAILED
from plugins.email.models import KEPT
from plugins.email.models import QUEUED
from plugins.email.models import SENDING
from plugins.email.models import SENT
from plugins.email.models import UNFINISHED
from plugins.email.models import EmailAttempt
from plugins.email.models import EmailMessage

log = logging.getLogger(__name__)

KEPT_OUTCOME = "kept in the local outbox: no SMTP server is configured"
MAX_WAIT = 3600  # seconds: the longest wait between two tries


@dataclass(frozen=True)
class Settings:
    """What the sender needs from the app's configuration (tasks run without an app context)."""

    smtp_url: str | None
    mail_from: str
    timeout: float
    max_attempts: int
    retry_seconds: float
    lease_seconds: float
    return_path: str = ""  # the envelope sender (MAIL FROM), where bounces go; "" : MAIL_FROM's

    @classmethod
    def from_config(cls, config):
        """Read the sender's settings from ``app.config``."""
        return cls(
            smtp_url=config["SMTP_URL"] or None,
            mail_from=config["MAIL_FROM"],
            timeout=config["SMTP_TIMEOUT"],
            max_attempts=int(config["EMAIL_MAX_ATTEMPTS"]),
            retry_seconds=config["EMAIL_RETRY_SECONDS"],
            lease_seconds=config["EMAIL_LEASE_SECONDS"],
            return_path=config.get("EMAIL_RETURN_PATH") or "",
        )


def deliver(message_id, settings, final=False):
    """Try to send outbox message ``message_id`` once; return the seconds to wait before the
    next try, or None when the message is finished (or was not ours to send).

    ``final`` makes a temporary failure final (no retry).
    """
    row = claim(message_id, settings.lease_seconds)
    if row is None:
        return None
    started = utcnow()
    if not settings.smtp_url:
        finish(row, KEPT, KEPT_OUTCOME, "kept", started)
        return None
    try:
        answer = smtp.transmit(row, settings)
    except smtp.PermanentFailure as error:
        finish(row, FAILED, f"refused: {error}", "permanent", started)
        return None
    except smtp.TemporaryFailure as error:
        if final or row.attempts >= settings.max_attempts:
            finish(
                row, FAILED, f"gave up after {row.attempts} tries: {error}", "temporary", started
            )
            return None
        wait = min(settings.retry_seconds * 2 ** (row.attempts - 1), MAX_WAIT)
        retry_later(row, f"try {row.attempts} failed: {error}", wait, settings, started)
        return wait
    finish(row, SENT, answer, "sent", started)
    return None


def claim(message_id, lease_seconds):
    """Move the message from ``queued`` to ``sending`` and return it; None if it is not
    queued (already sent, being sent by another worker, or gone)."""
    now = utcnow()
    with database.atomic():
        claimed = (
            EmailMessage.update(
                status=SENDING,
                attempts=EmailMessage.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds),
            )
            .where((EmailMessage.id == message_id) & (EmailMessage.status == QUEUED))
            .execute()
        )
        if not claimed:
            return None
        return EmailMessage.get_by_id(message_id)


def finish(row, status, outcome, result, started):
    """Record the end of a message's delivery and the attempt that ended it."""
    now = utcnow()
    with database.atomic():
        # Still unfinished: a sweep may have queued it again meanwhile; recording it sent now
        # stops that second copy before it is claimed.
        EmailMessage.update(
            status=status, finished_at=now, lease_until=None, outcome=clip(outcome, 500)
        ).where((EmailMessage.id == row.id) & EmailMessage.status.in_(UNFINISHED)).execute()
        _attempt(row, started, now, result, outcome)


def retry_later(row, outcome, wait, settings, started):
    """Put the message back in the queue after a temporary failure, leased past its retry."""
    now = utcnow()
    lease = now + timedelta(seconds=wait + settings.lease_seconds)
    with database.atomic():
        EmailMessage.update(
            status=QUEUED,
            lease_until=lease,
            outcome=clip(f"{outcome}; next try in {wait:g} s", 500),
        ).where((EmailMessage.id == row.id) & (EmailMessage.status == SENDING)).execute()
        _attempt(row, started, now, "temporary", outcome)


def _attempt(row, started, finished, result, detail):
    EmailAttempt.insert(
        message=row.id,
        started_at=started,
        finished_at=finished,
        result=result,
        detail=clip(detail, 500),
    ).execute()


def sweep(lease_seconds, limit=1000):
    """Queue again the messages left ``queued`` or ``sending`` past their lease (a worker
    died, or the hand-over to the queue was lost); return their ids."""
    now = utcnow()
    message = EmailMessage
    lost = message.status.in_(UNFINISHED) & (message.lease_until < now)
    with database.atomic():
        ids = [
            row.id
            for row in message.select(message.id).where(lost).order_by(message.id).limit(limit)
        ]
        if ids:
            message.update(status=QUEUED, lease_until=now + timedelta(seconds=lease_seconds)).where(
                message.id.in_(ids) & lost
            ).execute()
    return ids
