"""The SMTP conversation: one message handed to the server, its answer or the failure's kind.

``transmit`` raises ``PermanentFailure`` for a 5xx answer and ``TemporaryFailure`` for anything
else that went wrong; ``sender`` decides what that means for the message. Each worker thread
keeps its connection open between messages.
"""

import smtplib
import threading
import time
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

from plugins.email import mime


class TemporaryFailure(Exception):
    """The server or the network said "not now": try again later."""


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer)."""


def transmit(row, settings):
    """Hand the message to the SMTP server; return its answer (``250 …``).

    Raises ``PermanentFailure`` on a 5xx answer and ``TemporaryFailure`` on anything else
    that went wrong (4xx, connection refused or dropped, timeout). Each worker thread keeps
    its connection open between messages; one the server dropped meanwhile is replaced once,
    before anything of the message was sent.
    """
    message = mime.build(row, settings.mail_from)
    sender, recipients = mime.envelope(row, settings.mail_from, settings.return_path)
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
