"""Queueing mail: a notification becomes outbox rows in the caller's transaction.

``send_notification`` renders each recipient's copy from the notification's template pair,
fixes its Message-ID and writes the rows through ``core.records`` (a savepoint of the caller's
transaction: the action and its messages commit together or not at all). Once the transaction
commits, each message is handed to the sender task; if that hand-over is lost, the sweep
(``sender.sweep``) finds the message by its lease.

Headers cannot be injected: subjects and names are flattened to one line here, and
``email.message`` builds every header from those values at send time.
"""

import functools
import logging
import secrets
from datetime import timedelta
from email.headerregistry import Address
from email.utils import parseaddr
from typing import NamedTuple

from flask import current_app

from core.db import database
from core.db import utcnow
from core.people import User
from core.records import all_or_nothing
from core.records import allocate_ids
from core.records import clip
from core.records import insert_many
from plugins.email import suppression
from plugins.email.models import FAILED
from plugins.email.models import NO_REPORT
from plugins.email.models import PRIVATE_MESSAGE
from plugins.email.models import QUEUED
from plugins.email.models import SUPPRESSED
from plugins.email.models import EmailMessage

log = logging.getLogger(__name__)

TABLE = EmailMessage._meta.table_name
USERS = User._meta.table_name
COLUMNS = [f.column_name for f in EmailMessage._meta.sorted_fields if f.name != "id"]


def one_line(text, limit):
    """Return ``text`` on one line (control characters, CR and LF become spaces), clipped."""
    text = "".join(" " if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text or "")
    return clip(" ".join(text.split()), limit)


@functools.lru_cache(maxsize=4096)
def deliverable(address):
    """Tell whether ``address`` is one plain ``local@domain`` (nothing a header could abuse)."""
    try:
        parsed = Address(addr_spec=address)
    except Exception:  # the email package raises several kinds of defects
        return False
    return parsed.addr_spec == address and "@" in address


def mail_domain(config):
    """Return the domain of the configured sender address (for Message-IDs)."""
    return _domain(config["MAIL_FROM"])


@functools.lru_cache(maxsize=8)
def _domain(mail_from):
    return parseaddr(mail_from)[1].rpartition("@")[2]


def make_message_id(domain):
    """Return a new, globally unique Message-ID (random, not guessable from the row id)."""
    return f"<{utcnow():%Y%m%d%H%M%S}.{secrets.token_hex(12)}@{domain}>"


def send_notification(notification):
    """Queue one copy of ``notification`` per recipient; return the ids of the rows written."""
    recipients = _known_recipients(notification.recipients)
    env = current_app.jinja_env
    text_template = env.get_template(f"{notification.template}.txt")
    html_template = env.get_template(f"{notification.template}.html")
    sender = notification.sender
    private = notification.private or notification.kind == PRIVATE_MESSAGE
    rows = []
    for recipient in recipients:
        context = {**notification.context, "recipient": recipient, "sender": sender}
        rows.append(
            {
                "kind": one_line(notification.kind, 64),
                "private": private,
                "sender_id": sender.id if sender is not None else None,
                "sender_name": one_line(sender.name if sender is not None else "", 120),
                "recipient": recipient,
                "subject": notification.subject,
                "text_body": text_template.render(context),
                "html_body": html_template.render(context),
            }
        )
    return queue(rows)


def queue(messages, resent_from=None):
    """Write ``messages`` (dicts: kind, private, sender_id, sender_name, recipient (a User),
    subject, text_body, html_body) to the outbox in the caller's transaction; return their ids.

    A recipient whose stored address is not a plain ``local@domain`` gets a row that is
    failed at once, naming the address: the action goes through, the problem is on record. One
    whose address is suppressed (a hard bounce, a complaint) gets a row ``suppressed`` at once,
    saying since when and why: never sent, never silently dropped.
    """
    if not messages:
        return []
    config = current_app.config
    domain = mail_domain(config)
    now = utcnow()
    lease = now + timedelta(seconds=config["EMAIL_LEASE_SECONDS"])
    suppressed = suppression.active_for(m["recipient"].email for m in messages)
    rows = []
    for message in messages:
        recipient = message["recipient"]
        ok = deliverable(recipient.email)
        # The platform's own private mail (an invitation, a password link) is the account's,
        # asked for by a person now, not a notification: it goes out, and shows if it bounces.
        account_mail = message["private"] and message["sender_id"] is None
        held = (
            suppressed.get(suppression.normal_address(recipient.email))
            if ok and not account_mail
            else None
        )
        if held is not None:
            status, outcome = SUPPRESSED, suppression.outcome(held)
        elif ok:
            status, outcome = QUEUED, ""
        else:
            status = FAILED
            outcome = f"not sent: {one_line(recipient.email, 200)!r} is not a deliverable address"
        ok = status == QUEUED
        row = {
            "queued_at": now,
            "kind": message["kind"],
            "private": bool(message["private"]),
            "sender_id": message["sender_id"],
            "sender_name": message["sender_name"],
            "recipient_id": recipient.id,
            "recipient_name": one_line(recipient.name, 120),
            "recipient_email": clip(recipient.email, 254),
            "subject": one_line(message["subject"], 200) or "(no subject)",
            "text_body": message["text_body"],
            "html_body": message["html_body"],
            "message_id": make_message_id(domain),
            "status": status,
            "attempts": 0,
            "lease_until": lease if ok else None,
            "finished_at": None if ok else now,
            "outcome": outcome,
            "resent_from": resent_from,
            "delivery": NO_REPORT,
            "delivery_detail": "",
            "delivery_at": None,
        }
        rows.append(row)
    with all_or_nothing("email_outbox"):
        cursor = database.cursor()
        ids = allocate_ids(TABLE, len(rows), cursor)
        insert_many(
            cursor,
            TABLE,
            ["id", *COLUMNS],
            [(row_id, *(row[c] for c in COLUMNS)) for row_id, row in zip(ids, rows, strict=True)],
        )
    ready = [row_id for row_id, row in zip(ids, rows, strict=True) if row["status"] == QUEUED]
    if ready:
        hand_over = current_app.extensions.get("email.hand_over")
        if hand_over is not None:
            database.after_commit(lambda: hand_over(ready))
    return ids


class Recipient(NamedTuple):
    """A recipient as stored when the message is queued (what the templates may print)."""

    id: int
    name: str
    email: str


def _known_recipients(recipients):
    """Return the active users among ``recipients``, as stored (one query), each once.

    Only users the platform knows receive mail: anything else is a programming error and
    rolls the action back. Inactive users are left out.
    """
    ids = []
    for recipient in recipients:
        user_id = getattr(recipient, "id", None)
        if not isinstance(recipient, User) or not isinstance(user_id, int):
            raise ValueError(f"recipients: {recipient!r} is not a user of the platform")
        if user_id not in ids:
            ids.append(user_id)
    if not ids:
        return []
    # Plain SQL: this runs inside every action that notifies, and compiling the query costs
    # more than running it. The table name is ours; the ids go in as parameters.
    marks = ", ".join([database.param] * len(ids))
    cursor = database.execute_sql(
        f'SELECT id, name, email, active FROM "{USERS}" WHERE id IN ({marks})', ids
    )
    found = {row[0]: row for row in cursor.fetchall()}
    unknown = [user_id for user_id in ids if user_id not in found]
    if unknown:
        raise ValueError(f"recipients: no user with id {unknown[0]}")
    return [Recipient(*found[user_id][:3]) for user_id in ids if found[user_id][3]]
