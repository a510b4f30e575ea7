"""The mail of one person, for Manage People's "Export everything about this person".

Every message to or from them, Private Messages included (they are a party to them), read
in keyset batches by id. A private message between two other people is never a message to
or from them, so it is never read. A private message without a sender is the platform's own
(an invitation or a password reset link): its link opens the account, and the Email tab
lists it to its recipient only, never to the admin exporting the bundle, so its bodies are
left out.
"""

from core.listing.feed import plain_data
from plugins.email.models import EmailMessage
from plugins.email.models import EmailSuppression

BATCH = 1000
WITHHELD = "a private message of the platform's own: its link opens the account"


def person_records(person):
    """Yield ``("email", dict)`` for every message to or from ``person``, oldest first: every
    column as plain JSON (the message's own kind as ``message_kind``), bodies included but
    for the platform's private messages (``bodies_withheld`` says why); then
    ``("email_suppression", dict)`` for each suppression of their address."""
    for message in messages_of(person.id):
        yield "email", message_data(message)
    # Their address suppressed after a bounce (lifted or not): a record about them too.
    held = EmailSuppression.select().where(EmailSuppression.address == person.email.lower())
    for row in held.order_by(EmailSuppression.id):
        yield "email_suppression", plain_data(row)


def messages_of(person_id):
    """Yield the messages whose sender or recipient is ``person_id``, by id, ``BATCH`` at a
    time (each batch one range of the (sender, id) and (recipient, id) indexes)."""
    message = EmailMessage
    party = (message.sender_id == person_id) | (message.recipient_id == person_id)
    size, cursor = BATCH, 0
    while True:
        batch = list(
            message.select().where(party & (message.id > cursor)).order_by(message.id).limit(size)
        )
        yield from batch
        if len(batch) < size:
            return
        cursor = batch[-1].id


def message_data(message):
    """Return one message as a dict of JSON values."""
    # The line's "kind" is "email"; the message's own kind keeps its place under a new name.
    data = {("message_kind" if k == "kind" else k): v for k, v in plain_data(message).items()}
    if message.private and message.sender_id is None:
        data["text_body"] = data["html_body"] = None
        data["bodies_withheld"] = WITHHELD
    return data
