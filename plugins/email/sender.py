"""Sending: claim a queued message, hand it to the SMTP server, record how it went.

The delivery guarantee is at-least-once, with one Message-ID per message:

1. ``claim`` moves the row from ``queued`` to ``sending`` (one statement, so two workers can
   never both claim it) and gives it a lease;
2. the message goes to the SMTP server (``transmit``);
3. ``finish`` records the server's answer (``sent``) or the error, in one transaction.

A process that dies between 2 and 3 leaves the row ``sending``; once its lease has run out,
``sweep`` queues it again and it is sent a second time, with the same Message-ID (so a
receiving system can tell). That window is the only way to get a duplicate. Temporary failures
(4xx answers, a refused or dropped connection) are retried with a doubling wait, up to
``EMAIL_MAX_ATTEMPTS`` tries; permanent ones (5xx) are failed at once.
"""

import logging
import smtplib
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from core.db import database
from core.db import utcnow
from core.records import clip
from plugins.email import mime
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
        )


class TemporaryFailure(Exception):
    """The server or the network said "not now": try again later."""


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer)."""


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
        answer = transmit(row, settings)
    except PermanentFailure as error:
        finish(row, FAILED, f"refused: {error}", "permanent", started)
        return None
    except TemporaryFailure as error:
        if final or row.attempts >= settings.max_attempts:
            finish(row, FAILED, f"gave up after {row.attempts} tries: {error}", "temporary",
                   started)  # fmt: skip
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
        message=row.id, started_at=started, finished_at=finished, result=result,
        detail=clip(detail, 500),
    ).execute()  # fmt: skip


def transmit(row, settings):
    """Hand the message to the SMTP server; return its answer (``250 …``).

    Raises ``PermanentFailure`` on a 5xx answer and ``TemporaryFailure`` on anything else
    that went wrong (4xx, connection refused or dropped, timeout). Each worker thread keeps
    its connection open between messages; one the server dropped meanwhile is replaced once,
    before anything of the message was sent.
    """
    message = mime.build(row, settings.mail_from)
    sender, recipients = mime.envelope(row, settings.mail_from)
    smtp = None
    try:
        smtp, reused = _session(settings)
        try:
            code, answer = smtp.mail(sender)
        except smtplib.SMTPServerDisconnected:
            if not reused:
                raise
            _drop(smtp)
            smtp, _ = _session(settings)
            code, answer = smtp.mail(sender)
    except smtplib.SMTPResponseException as error:
        _drop(smtp)
        raise _by_code(error.smtp_code, error.smtp_error) from error
    except (OSError, smtplib.SMTPException) as error:
        _drop(smtp)
        raise TemporaryFailure(_describe(error)) from error
    try:
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, sender)
        code, answer = smtp.rcpt(recipients[0])
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipients[0]: (code, answer)})
        code, answer = smtp.data(mime.wire_bytes(message))
        if code != 250:  # smtplib checks the reply to DATA, not to the message itself
            raise smtplib.SMTPDataError(code, answer)
    except smtplib.SMTPRecipientsRefused as error:
        _drop(smtp)
        code, answer = next(iter(error.recipients.values()))
        raise _by_code(code, answer) from error
    except smtplib.SMTPResponseException as error:
        _drop(smtp)
        raise _by_code(error.smtp_code, error.smtp_error) from error
    except (OSError, smtplib.SMTPException) as error:
        _drop(smtp)
        raise TemporaryFailure(_describe(error)) from error
    _keep(smtp, settings)
    return f"{code} {_text(answer)}"


_local = threading.local()
IDLE_SECONDS = 30  # a kept connection older than this is closed (servers drop idle ones)


def _session(settings):
    """Return ``(connection, reused)``: this thread's open connection to the server, or a
    new one."""
    kept = getattr(_local, "smtp", None)
    _local.smtp = None
    if kept is not None:
        url, smtp, since = kept
        if url == settings.smtp_url and time.monotonic() - since < IDLE_SECONDS:
            return smtp, True
        _quit(smtp)
    return _connect(settings), False


def _keep(smtp, settings):
    _local.smtp = (settings.smtp_url, smtp, time.monotonic())


def _drop(smtp):
    _local.smtp = None
    if smtp is not None:
        _quit(smtp)


def _connect(settings):
    parts = urlsplit(settings.smtp_url)
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=settings.timeout)
    else:
        smtp = smtplib.SMTP(parts.hostname, parts.port or 25, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if parse_qs(parts.query).get("starttls") == ["1"]:
            smtp.starttls()
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except smtplib.SMTPResponseException as error:
        _quit(smtp)
        raise _by_code(error.smtp_code, error.smtp_error) from error
    except BaseException:
        _quit(smtp)
        raise
    return smtp


def _quit(smtp):
    # The message's fate is decided before QUIT: a failure to say goodbye changes nothing.
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _by_code(code, answer):
    text = f"{code} {_text(answer)}"
    if 500 <= code < 600:
        return PermanentFailure(text)
    return TemporaryFailure(text)


def _text(answer):
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    return " ".join(str(answer).split())


def _describe(error):
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def sweep(lease_seconds, limit=1000):
    """Queue again the messages left ``queued`` or ``sending`` past their lease (a worker
    died, or the hand-over to the queue was lost); return their ids."""
    now = utcnow()
    message = EmailMessage
    lost = message.status.in_(UNFINISHED) & (message.lease_until < now)
    with database.atomic():
        ids = [row.id for row in message.select(message.id).where(lost).order_by(message.id)
               .limit(limit)]  # fmt: skip
        if ids:
            message.update(status=QUEUED, lease_until=now + timedelta(seconds=lease_seconds)).where(
                message.id.in_(ids) & lost
            ).execute()
    return ids
