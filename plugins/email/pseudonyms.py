"""A person pseudonymised: their name and address replaced in the messages to and from them,
in the delivery reports about those messages and in their address's suppressions."""

from core.db import database
from core.evidence.replace import replace_values
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage
from plugins.email.models import EmailSuppression

BATCH = 500
TEXT = ("sender_name", "recipient_name", "recipient_email", "subject", "text_body", "html_body")


def pseudonymise_messages(person, replace):
    """Replace ``person``'s name and email (``replace``) in every message they sent or received,
    ``BATCH`` at a time; return how many messages changed."""
    message = EmailMessage
    theirs = (message.recipient_id == person.id) | (message.sender_id == person.id)
    ids = [i for (i,) in message.select(message.id).where(theirs).order_by(message.id).tuples()]
    changed = 0
    for start in range(0, len(ids), BATCH):
        with database.atomic():
            rows = message.select().where(message.id.in_(ids[start : start + BATCH]))
            new_values = {
                row.id: {column: replace(getattr(row, column)) for column in TEXT} for row in rows
            }
            changed += replace_values(message, new_values)
    with database.atomic():
        changed += _reports_and_suppressions(person, ids, replace)
    return changed


def _reports_and_suppressions(person, ids, replace):
    """Replace the address (and the name) in the reports about their messages and in the
    suppressions of their address; return how many rows changed."""
    report = EmailDeliveryReport
    changed = 0
    for start in range(0, len(ids), BATCH):
        rows = report.select().where(report.message.in_(ids[start : start + BATCH]))
        changed += replace_values(
            report,
            {
                row.id: {"recipient": replace(row.recipient), "diagnostic": replace(row.diagnostic)}
                for row in rows
            },
        )
    held = EmailSuppression.select().where(EmailSuppression.address == person.email.lower())
    changed += replace_values(
        EmailSuppression,
        {row.id: {"address": replace(row.address), "reason": replace(row.reason)} for row in held},
    )
    return changed
