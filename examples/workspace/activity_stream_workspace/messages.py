"""Private Messages: Staff ↔ Staff and Staff ↔ Contact, each one mailed to its recipients.

A message and its mail (``notify`` with ``private=True``) commit together. Only the sender
and the recipients ever see a message: here (``visible_to``) and on the Email tab, whatever
their role. It is not recorded on the Activity tab, whose readers are not its parties: the
Email tab is its record, visible to those parties only.
"""

import peewee
from flask import has_request_context
from flask import url_for

from activity_stream_workspace.checks import LONG_TEXT
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.checks import text
from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.notifications import Notification
from core.notifications import notify
from core.people import CONTACT
from core.people import Role
from core.people import User

MAX_RECIPIENTS = 20


class PrivateMessage(BaseModel):
    """A message from one person to one or more others."""

    sender = peewee.ForeignKeyField(User, on_delete="RESTRICT")
    subject = peewee.CharField(max_length=200)
    body = peewee.TextField()
    sent_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workspace_private_message"
        indexes = ((("sender", "id"), False),)


class PrivateMessageRecipient(BaseModel):
    """One recipient of one message."""

    message = peewee.ForeignKeyField(PrivateMessage, backref="recipients", on_delete="RESTRICT")
    user = peewee.ForeignKeyField(User, on_delete="RESTRICT")

    class Meta:
        table_name = "workspace_private_message_recipient"
        indexes = ((("message", "user"), True), (("user", "message"), False))


MODELS = (PrivateMessage, PrivateMessageRecipient)


def may_write(sender, recipient):
    """Tell whether ``sender`` may write to ``recipient``: Staff to Staff or Contacts,
    Contacts to Staff; nobody to themselves, Freelancers to nobody."""
    if sender.id == recipient.id or not recipient.active:
        return False
    if sender.is_staff:
        return recipient.is_staff or recipient.role.kind == CONTACT
    return sender.role.kind == CONTACT and recipient.is_staff


def correspondents(sender):
    """Return the people ``sender`` may write to, by name."""
    query = User.select(User, Role).join(Role).where(User.active).order_by(User.name)
    return [user for user in query if may_write(sender, user)]


def send_private_message(sender, recipients, subject, body):
    """Send a message from ``sender`` to ``recipients``; return it. Refuses a recipient the
    sender may not write to, an empty subject or body (``ValidationError`` naming the field)."""
    subject = text(subject, "subject", 200, required=True)
    body = text(body, "body", LONG_TEXT, required=True)
    recipients = list({user.id: user for user in recipients or ()}.values())
    if not recipients:
        raise ValidationError("to", "choose at least one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValidationError("to", f"at most {MAX_RECIPIENTS} recipients")
    for user in recipients:
        if not may_write(sender, user):
            raise ValidationError("to", f"you may not write to {user.name}")
    with database.atomic():
        message = PrivateMessage.create(sender=sender.id, subject=subject, body=body)
        PrivateMessageRecipient.insert_many(
            [{"message": message.id, "user": user.id} for user in recipients]
        ).execute()
        link = (
            url_for("workspace.messages.message", message_id=message.id, _external=True)
            if has_request_context()
            else None
        )
        notify(
            Notification(
                kind="private_message",
                recipients=tuple(recipients),
                subject=subject,
                template="workspace/mail/private_message",
                context={"actor_name": sender.name, "title": subject, "body": body, "link": link},
                sender=sender,
                private=True,
            )
        )
    return message


def visible_to(user):
    """Return the query of the messages ``user`` sent or received."""
    received = PrivateMessageRecipient.select(PrivateMessageRecipient.message).where(
        PrivateMessageRecipient.user == user.id
    )
    return PrivateMessage.select().where(
        (PrivateMessage.sender == user.id) | PrivateMessage.id.in_(received)
    )


def inbox(user, sent=False, limit=100):
    """Return the newest messages ``user`` received (or ``sent``), with their senders."""
    query = PrivateMessage.select(PrivateMessage, User).join(
        User, on=(PrivateMessage.sender == User.id), attr="sender"
    )
    if sent:
        query = query.where(PrivateMessage.sender == user.id)
    else:
        query = query.join(
            PrivateMessageRecipient, on=(PrivateMessageRecipient.message == PrivateMessage.id)
        ).where(PrivateMessageRecipient.user == user.id)
    return list(query.order_by(PrivateMessage.id.desc()).limit(limit))


def recipients_of(message_ids):
    """Return ``{message id: [users]}`` for ``message_ids`` (one query)."""
    found = {}
    if not message_ids:
        return found
    query = (
        PrivateMessageRecipient.select(PrivateMessageRecipient.message, User)
        .join(User, on=(PrivateMessageRecipient.user == User.id), attr="person")
        .where(PrivateMessageRecipient.message.in_(list(message_ids)))
        .order_by(User.name)
    )
    for row in query:
        found.setdefault(row.message_id, []).append(row.person)
    return found
