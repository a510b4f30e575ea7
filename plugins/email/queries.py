"""Reading the Email tab: the viewer's scope and the filters in SQL, newest first.

``visible_messages`` is the one place deciding which messages a viewer may see; the panel,
rows fragment, counts, "N new" poll, the viewer, its frame and the row poll all start from it.
A Private Message is visible to its sender and recipient only, whatever the viewer's role or
scope: that condition is part of every query, filters only narrow it further.
"""

import functools

from core.listing.sql import ListColumns
from core.listing.sql import bounded
from core.listing.sql import distinct_values
from core.listing.sql import newest_of
from core.migrations import Migration
from core.tabs import row_scope
from plugins.email.filters import FILTERS
from plugins.email.models import EmailMessage

TAB = "email"

INDEX = FILTERS.words
# For the plugin's ``register_migrations``; until it returns them, free words are a scan.
MIGRATIONS = [Migration("email.0002_full_text", INDEX.create)]

# Every column but the two bodies, which are read only when a message is opened.
LIST = ListColumns(EmailMessage, exclude=("text_body", "html_body"))


def visible_messages(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the query of the messages ``viewer`` may see under ``filters``, newest first.

    ``all``: every notification, and the viewer's own Private Messages. ``related``: the
    messages to or from the viewer or a member of one of the viewer's teams, Private Messages
    only the viewer's own.
    """
    message = EmailMessage
    query = _conditions(
        message.select(*(columns or [LIST.select])), viewer, filters, older_than, newer_than
    )
    if row_scope(viewer, TAB) != "all":
        query = query.where(_related(viewer, filters, older_than, newer_than, limit))
    query = query.order_by(message.id.desc())
    return query.limit(limit) if limit else query


def _conditions(query, viewer, filters, older_than, newer_than):
    """Apply the keyset bounds, the Private Message rule and the filters to ``query``."""
    message = EmailMessage
    query = bounded(query, message.id, older_than, newer_than)
    party = (message.sender_id == viewer.id) | (message.recipient_id == viewer.id)
    query = query.where((message.private == False) | party)  # noqa: E712 (SQL, not Python)
    return _filtered(query, filters, viewer, older_than, newer_than)


def _related(viewer, filters, older_than, newer_than, limit):
    """Return the condition "to or from one of the viewer's people".

    With a limit (every page, count and poll), it is read one person and one side at a time:
    each arm is the whole query for ``sender = p`` (or ``recipient = p``), newest first and
    capped, a short range of its own index; their union holds the newest ``limit`` rows. As
    one ``IN … OR IN …`` SQLite gathers every related row and sorts them (90 ms at 100,000).
    """
    message = EmailMessage
    people = viewer.related_user_ids()
    if not limit:
        return message.sender_id.in_(people) | message.recipient_id.in_(people)

    def arm(column, person):
        query = _conditions(message.select(message.id), viewer, filters, older_than, newer_than)
        return query.where(column == person).order_by(message.id.desc()).limit(limit)

    sent = functools.partial(arm, message.sender_id)
    received = functools.partial(arm, message.recipient_id)
    return newest_of(message.id, (sent, people), (received, people))


def _filtered(query, filters, viewer, older_than=None, newer_than=None):
    query = FILTERS.where(query, filters, viewer)
    matching = INDEX.condition(EmailMessage.id, filters.words, older_than, newer_than)
    return query if matching is None else query.where(matching)


def kinds():
    """Return the distinct kinds of message queued, by a few index seeks (no full scan)."""
    return distinct_values(EmailMessage, "kind")
