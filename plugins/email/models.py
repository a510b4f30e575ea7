"""The outbox: one row per message to one platform user, and one row per delivery attempt.

A message is written in the transaction of the action that causes it (``outbox.queue``) and is
append-only but for its delivery state, which only the sender (``sender``) moves on:

    queued → sending → sent | failed | kept

``kept`` means no SMTP server is configured: the message stays in the local outbox. Names and
addresses are copied in, ids kept for filters, so the record outlives the people in it.
"""

import peewee

from core.db import BaseModel
from core.db import utcnow

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
KEPT = "kept"
STATUSES = (QUEUED, SENDING, SENT, FAILED, KEPT)
STATUS_LABELS = {
    QUEUED: "Queued",
    SENDING: "Sending",
    SENT: "Sent",
    FAILED: "Failed",
    KEPT: "Kept in the local outbox",
}
UNFINISHED = (QUEUED, SENDING)

PRIVATE_MESSAGE = "private_message"


class EmailMessage(BaseModel):
    """One message to one recipient, as it was (or will be) sent."""

    id = peewee.BigAutoField()
    queued_at = peewee.DateTimeField(default=utcnow)
    kind = peewee.CharField(max_length=64)
    private = peewee.BooleanField(default=False)
    sender_id = peewee.IntegerField(null=True)  # no foreign key: the record outlives people
    sender_name = peewee.CharField(max_length=120, default="")
    recipient_id = peewee.IntegerField()
    recipient_name = peewee.CharField(max_length=120)
    recipient_email = peewee.CharField(max_length=254)
    subject = peewee.CharField(max_length=200)
    text_body = peewee.TextField()
    html_body = peewee.TextField()
    message_id = peewee.CharField(max_length=200)  # the Message-ID header, fixed when queued
    status = peewee.CharField(max_length=16, default=QUEUED)
    attempts = peewee.IntegerField(default=0)
    lease_until = peewee.DateTimeField(null=True)  # when an unfinished message counts as lost
    finished_at = peewee.DateTimeField(null=True)
    outcome = peewee.CharField(max_length=500, default="")  # server's answer or the error
    resent_from = peewee.BigIntegerField(null=True)  # the original of a resent copy

    class Meta:
        table_name = "email_message"
        indexes = (
            (("recipient_id", "id"), False),
            (("sender_id", "id"), False),
            (("kind", "id"), False),
            (("status", "id"), False),
            (("queued_at",), False),
        )


class EmailAttempt(BaseModel):
    """One try at handing a message to the SMTP server, and how it ended."""

    id = peewee.BigAutoField()
    message = peewee.BigIntegerField()
    started_at = peewee.DateTimeField()
    finished_at = peewee.DateTimeField()
    result = peewee.CharField(max_length=16)  # sent, temporary, permanent, kept
    detail = peewee.CharField(max_length=500, default="")

    class Meta:
        table_name = "email_attempt"
        indexes = ((("message", "id"), False),)


MODELS = (EmailMessage, EmailAttempt)
