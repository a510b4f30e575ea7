"""The outbox: one row per message to one platform user, and one row per delivery attempt.

A message is written in the transaction of the action that causes it (``outbox.queue``) and is
append-only but for its delivery state, which only the sender (``sender``) moves on:

    queued → sending → sent | failed | kept
    suppressed (written so: the address is suppressed after a hard bounce; never sent)

``kept`` means no SMTP server is configured: the message stays in the local outbox. Names and
addresses are copied in, ids kept for filters, so the record outlives the people in it.

What happened after the SMTP server accepted a message is its *delivery* (``delivery``,
``delivery_detail``, ``delivery_at``), moved only by ``delivery.record`` from the reports
received (``EmailDeliveryReport``: bounces read back, provider events), which are kept as they
came, one row each. A hard bounce or a complaint suppresses the address (``EmailSuppression``)
until an owner or admin lifts it.
"""

import peewee

from core.db import BaseModel
from core.db import utcnow

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
KEPT = "kept"
SUPPRESSED = "suppressed"
STATUSES = (QUEUED, SENDING, SENT, FAILED, KEPT, SUPPRESSED)
STATUS_LABELS = {
    QUEUED: "Queued",
    SENDING: "Sending",
    SENT: "Sent",
    FAILED: "Failed",
    KEPT: "Kept in the local outbox",
    SUPPRESSED: "Suppressed",
}
UNFINISHED = (QUEUED, SENDING)

PRIVATE_MESSAGE = "private_message"

# What became of a message after the SMTP server accepted it, as reports say (none: no report).
NO_REPORT = "none"
DELIVERED = "delivered"
DEFERRED = "deferred"
BOUNCED = "bounced"
COMPLAINED = "complained"
DELIVERIES = (NO_REPORT, DELIVERED, DEFERRED, BOUNCED, COMPLAINED)
DELIVERY_LABELS = {
    NO_REPORT: "No report",
    DELIVERED: "Delivered",
    DEFERRED: "Deferred",
    BOUNCED: "Bounced",
    COMPLAINED: "Complained",
}


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
    # What the reports received say became of it (``delivery.record`` alone moves these).
    delivery = peewee.CharField(max_length=16, default=NO_REPORT)
    delivery_detail = peewee.CharField(max_length=500, default="")
    delivery_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "email_message"
        indexes = (
            (("recipient_id", "id"), False),
            (("sender_id", "id"), False),
            (("kind", "id"), False),
            (("status", "id"), False),
            (("queued_at",), False),
            (("delivery", "id"), False),
            (("message_id",), False),
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


class EmailDeliveryReport(BaseModel):
    """One report received about one message to one recipient: a DSN's recipient block or a
    provider's event, kept as it came (append-only). ``key`` makes receiving it twice a no-op:
    ``webhook:<event id>``, or ``dsn:<the DSN's Message-ID> <recipient> <action>``."""

    id = peewee.BigAutoField()
    key = peewee.CharField(max_length=600, unique=True)
    received_at = peewee.DateTimeField(default=utcnow)
    source = peewee.CharField(max_length=16)  # dsn, webhook
    message = peewee.BigIntegerField(null=True)  # the outbox row; None: no message matched
    message_id = peewee.CharField(max_length=200)  # the Message-ID the report names
    recipient = peewee.CharField(max_length=254, default="")
    event = peewee.CharField(max_length=16)  # delivered, deferred, bounced, complained
    hard = peewee.BooleanField(default=False)  # a permanent failure (5.x.x) or a complaint
    action = peewee.CharField(max_length=16, default="")  # a DSN's Action: failed, delayed…
    status_code = peewee.CharField(max_length=32, default="")  # 5.1.1, as received
    diagnostic = peewee.CharField(max_length=500, default="")
    occurred_at = peewee.DateTimeField(null=True)  # when the report says it happened

    class Meta:
        table_name = "email_delivery_report"
        indexes = ((("message", "id"), False),)


class EmailSuppression(BaseModel):
    """An address no notification is sent to, since a hard bounce or a complaint, until an
    owner or admin lifts it (``lifted_at``): the row stays, as the record of both."""

    id = peewee.BigAutoField()
    address = peewee.CharField(max_length=254)  # lower case
    suppressed_at = peewee.DateTimeField(default=utcnow)
    reason = peewee.CharField(max_length=500)
    report = peewee.BigIntegerField(null=True)  # the report that caused it
    lifted_at = peewee.DateTimeField(null=True)
    lifted_by = peewee.IntegerField(null=True)  # no foreign key: the record outlives people

    class Meta:
        table_name = "email_suppression"
        indexes = ((("address", "lifted_at"), False),)


MODELS = (EmailMessage, EmailAttempt)
DELIVERY_MODELS = (EmailDeliveryReport, EmailSuppression)


def add_delivery_truth():
    """Add the delivery state to ``email_message`` (a database created before it; one created
    since has it already), its two indexes, and the reports' and suppressions' tables."""
    from core.db import database
    from core.db import is_sqlite

    table = EmailMessage._meta.table_name
    present = {column.name for column in database.get_columns(table)}
    stamp = "DATETIME" if is_sqlite() else "TIMESTAMP"
    added = (
        ("delivery", f"VARCHAR(16) NOT NULL DEFAULT '{NO_REPORT}'"),
        ("delivery_detail", "VARCHAR(500) NOT NULL DEFAULT ''"),
        ("delivery_at", stamp),
    )
    for name, kind in added:
        if name not in present:
            database.execute_sql(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    database.execute_sql(
        f"CREATE INDEX IF NOT EXISTS {table}_delivery_id ON {table} (delivery, id)"
    )
    database.execute_sql(f"CREATE INDEX IF NOT EXISTS {table}_message_id ON {table} (message_id)")
    database.create_tables(DELIVERY_MODELS)
