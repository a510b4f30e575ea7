"""Delivery truth: what became of a message after the SMTP server accepted it.

Reports come from two places, bounces read back from the return-path mailbox (``dsn``,
``bounces``) and a provider's signed events (``webhook_views``); both hand ``Report`` objects
to ``record``, the one writer of a message's delivery state. Each report is kept as it came
(``EmailDeliveryReport``, one row, never changed); receiving the same report again (the same
event id, or the same DSN's recipient and action) is a no-op, so a mailbox read twice or an
event sent again changes nothing.

A message's delivery moves only forward: no report < deferred < delivered < bounced <
complained (a late "deferred" does not hide a delivery; a bounce after "delivered", which a
relay can send, is the stronger news). A hard bounce (5.x.x, or a provider's hard bounce) and
a complaint suppress the address (``suppression``).
"""

import logging
from dataclasses import dataclass
from dataclasses import replace
from datetime import datetime

import peewee

from core.db import database
from core.db import utcnow
from core.records import clip
from plugins.email import suppression
from plugins.email.models import BOUNCED
from plugins.email.models import COMPLAINED
from plugins.email.models import DEFERRED
from plugins.email.models import DELIVERED
from plugins.email.models import NO_REPORT
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage

log = logging.getLogger(__name__)

RANK = {NO_REPORT: 0, DEFERRED: 1, DELIVERED: 2, BOUNCED: 3, COMPLAINED: 4}
EVENTS = (DELIVERED, DEFERRED, BOUNCED, COMPLAINED)

# Results of ``record`` for one report.
RECORDED = "recorded"
DUPLICATE = "duplicate"
UNMATCHED = "unmatched"


@dataclass(frozen=True)
class Report:
    """One report about one message to one recipient, from a DSN or a provider's event."""

    key: str  # what makes it the same report when received again
    source: str  # dsn, webhook
    message_id: str  # the Message-ID of the message it is about, with its angle brackets
    recipient: str
    event: str  # delivered, deferred, bounced, complained
    hard: bool = False  # a permanent failure: the address is suppressed
    action: str = ""
    status_code: str = ""
    diagnostic: str = ""
    occurred_at: datetime | None = None


def normal_message_id(value):
    """Return a Message-ID as the outbox stores it: ``<…>``, without spaces around it."""
    value = "".join((value or "").split())
    if value and not value.startswith("<"):
        value = f"<{value}>"
    return value


def record(report):
    """Record ``report`` and move its message's delivery; return ``(result, message id or
    None)``, the result ``recorded``, ``duplicate`` or ``unmatched`` (kept, no message has
    that Message-ID). One transaction; a report received twice is recorded once."""
    report = _clean(report)
    with database.atomic():
        found = EmailDeliveryReport.get_or_none(EmailDeliveryReport.key == report.key)
        if found is not None:
            return DUPLICATE, found.message
        message = _message(report.message_id)
        row_id = _insert(report, message.id if message is not None else None)
        if row_id is None:  # another process recorded it meanwhile
            return DUPLICATE, message.id if message is not None else None
        if message is None:
            # Nothing to move; a hard bounce of an address the outbox never wrote to suppresses
            # nobody: the address is the provider's word, not a person of the platform.
            return UNMATCHED, None
        _move(message, report)
        if report.hard and report.event in (BOUNCED, COMPLAINED):
            suppression.suppress(message.recipient_email, reason(report), row_id)
        return RECORDED, message.id


def reason(report):
    """Return why a report suppresses its address, as people read it."""
    what = "a complaint (marked as spam)" if report.event == COMPLAINED else "a hard bounce"
    details = _details(report)
    return clip(f"{what}{': ' + details if details else ''}", 500)


def describe(report):
    """Return the one line a message's delivery shows for ``report``."""
    words = {
        DELIVERED: "delivered",
        DEFERRED: "deferred (will be tried again)",
        BOUNCED: "hard bounce" if report.hard else "soft bounce",
        COMPLAINED: "complaint: marked as spam",
    }[report.event]
    details = _details(report)
    via = "DSN" if report.source == "dsn" else "provider event"
    return clip(f"{words} ({via}){': ' + details if details else ''}", 500)


def _clean(report):
    """Return ``report`` with its texts on one line, without control characters: a bounce is
    anyone's mail, and PostgreSQL stores no NUL."""
    texts = ("key", "message_id", "recipient", "action", "status_code", "diagnostic")
    return replace(report, **{name: _one_line(getattr(report, name)) for name in texts})


def _one_line(text):
    text = "".join(" " if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text or "")
    return " ".join(text.split())


def _details(report):
    """Return the status code and the diagnostic, the code once (``550 5.1.1 …`` holds it)."""
    code, diagnostic = report.status_code, report.diagnostic
    if code and code in diagnostic:
        return diagnostic
    return " ".join(part for part in (code, diagnostic) if part)


def _message(message_id):
    if not message_id:
        return None
    return (
        EmailMessage.select(
            EmailMessage.id,
            EmailMessage.recipient_email,
            EmailMessage.delivery,
            EmailMessage.delivery_at,
        )
        .where(EmailMessage.message_id == message_id)
        .order_by(EmailMessage.id)
        .first()
    )


def _insert(report, message_id):
    """Insert the report; return its id, or None when the same key is already there."""
    try:
        with database.atomic():  # a savepoint: a clash leaves the transaction usable
            return EmailDeliveryReport.insert(
                key=clip(report.key, 600),
                received_at=utcnow(),
                source=report.source,
                message=message_id,
                message_id=clip(report.message_id, 200),
                recipient=clip(report.recipient, 254),
                event=report.event,
                hard=report.hard,
                action=clip(report.action, 16),
                status_code=clip(report.status_code, 32),
                diagnostic=clip(report.diagnostic, 500),
                occurred_at=report.occurred_at,
            ).execute()
    except peewee.IntegrityError:
        return None


def _move(message, report):
    """Move the message's delivery to the report's, unless it already says something as
    strong (the rank above); an equal rank takes the newer detail."""
    now = report.occurred_at or utcnow()
    if RANK[report.event] < RANK.get(message.delivery, 0):
        return
    EmailMessage.update(
        delivery=report.event, delivery_detail=describe(report), delivery_at=now
    ).where(EmailMessage.id == message.id).execute()
