"""A person pseudonymised: their name and address replaced in the messages to and from them."""

from core.db import database
from core.evidence.replace import replace_values
from plugins.email.models import EmailMessage

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
    return changed
