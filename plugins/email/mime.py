"""Building the message a recipient gets, from its outbox row: headers and both parts.

Every header goes through ``email.message.EmailMessage`` (policy ``default``), which refuses
CR and LF in a value, and addresses through ``email.headerregistry.Address``, which quotes
display names. The Date is the time the message was queued, so a retry sends the very same
message, Message-ID included.
"""

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
    return message


def wire_bytes(message):
    """Return ``message`` as sent over SMTP (CRLF line ends, as smtplib expects for bytes)."""
    return message.as_bytes(policy=SMTP)


def envelope(row, mail_from):
    """Return ``(from address, [recipient address])`` for the SMTP envelope."""
    return parseaddr(mail_from)[1], [row.recipient_email]


def _aware(value):
    if isinstance(value, str):  # SQLite hands back text from plain queries
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
