"""Building the message a recipient gets, from its outbox row: headers and both parts.

Every header goes through ``email.message.EmailMessage`` (policy ``default``), which refuses
CR and LF in a value, and addresses through ``email.headerregistry.Address``, which quotes
display names. The Date is the time the message was queued and the multipart boundary is
derived from the Message-ID, so every build of one row gives the very same bytes: a retry sends
the same message, and See Message's Raw and ``.eml`` download are the message as sent.
"""

import hashlib
from datetime import UTC
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from email.utils import parseaddr

from core.records import clip


def sender_display(row, mail_from):
    """Return the From display name: the person who caused the message "via" the platform."""
    platform = parseaddr(mail_from)[0] or "Activity Stream"
    if row.sender_name:
        return clip(f"{row.sender_name} via {platform}", 160)
    return platform


def build(row, mail_from):
    """Return the ``EmailMessage`` of outbox ``row`` (an ``EmailMessage`` model or tuple)."""
    message = EmailMessage()
    address = parseaddr(mail_from)[1]
    message["From"] = Address(display_name=sender_display(row, mail_from), addr_spec=address)
    message["To"] = Address(display_name=row.recipient_name, addr_spec=row.recipient_email)
    message["Subject"] = row.subject
    message["Date"] = format_datetime(_aware(row.queued_at))
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated" if not row.private else "no"
    message["X-Activity-Stream-Kind"] = row.kind
    # Quoted-printable: 7-bit safe and short lines, whatever the server supports.
    message.set_content(row.text_body, cte="quoted-printable")
    message.add_alternative(row.html_body, subtype="html", cte="quoted-printable")
    message.set_boundary(boundary(row.message_id))
    return message


def boundary(message_id):
    """Return the multipart boundary of the message ``message_id``: fixed by it (a random one
    would change at every build). It starts with ``=_``, which a quoted-printable part can never
    hold (``=`` is always written ``=3D`` there), so no body can end a part early."""
    return "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]


def source(row, mail_from):
    """Return the bytes of outbox ``row`` exactly as the sender hands them to the SMTP server."""
    return wire_bytes(build(row, mail_from))


def attachments(message):
    """Return ``[(filename, content type, size in bytes)]``: the parts of ``message`` that are
    not its text or HTML body (the outbox sends none today; a message that has some lists
    them)."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() in ("text/plain", "text/html") and not part.is_attachment():
            continue
        payload = part.get_payload(decode=True) or b""
        found.append((part.get_filename() or "(no name)", part.get_content_type(), len(payload)))
    return found


def wire_bytes(message):
    """Return ``message`` as sent over SMTP (CRLF line ends, as smtplib expects for bytes)."""
    return message.as_bytes(policy=SMTP)


def envelope(row, mail_from, return_path=""):
    """Return ``(from address, [recipient address])`` for the SMTP envelope: the envelope
    sender (MAIL FROM, which the receiving server writes as ``Return-Path:`` and bounces go
    back to) is ``return_path`` when set, else the address of ``mail_from``."""
    return return_path or parseaddr(mail_from)[1], [row.recipient_email]


def _aware(value):
    if isinstance(value, str):  # SQLite hands back text from plain queries
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
