"""Reading the Email tab: the viewer's scope and the filters in SQL, newest first.

``visible_messages`` is the one place deciding which messages a viewer may see; the panel,
rows fragment, counts, "N new" poll, the viewer, its frame and the row poll all start from it.
A Private Message is visible to its sender and recipient only, whatever the viewer's role or
scope: that condition is part of every query, filters only narrow it further.
"""

import functools
import operator
from collections import namedtuple
from datetime import datetime

import peewee

from core.db import database
from core.feed import day_range
from core.people import TeamMembership
from core.tabs import row_scope
from plugins.email.models import EmailMessage

TAB = "email"

# Every column but the two bodies, which are read only when a message is opened.
LIST_COLUMNS = [
    column for column in EmailMessage._meta.sorted_fields
    if column.name not in ("text_body", "html_body")
]  # fmt: skip
MessageRow = namedtuple("MessageRow", [column.name for column in LIST_COLUMNS])
# One SQL literal: compiling a dozen column nodes per page costs more than the query.
LIST_SELECT = peewee.SQL(", ".join(f'"{column.column_name}"' for column in LIST_COLUMNS))
DATES = ("queued_at", "lease_until", "finished_at")


def light_rows(query):
    """Run a ``LIST_SELECT`` query; return ``MessageRow`` tuples instead of model objects."""
    rows = [MessageRow._make(values) for values in database.execute(query)]
    if rows and isinstance(rows[0].queued_at, str):  # SQLite hands back text
        rows = [row._replace(**_dates(row)) for row in rows]
    return rows


def _dates(row):
    return {
        name: datetime.fromisoformat(value)
        for name in DATES
        if isinstance(value := getattr(row, name), str)
    }


def visible_messages(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the query of the messages ``viewer`` may see under ``filters``, newest first.

    ``all``: every notification, and the viewer's own Private Messages. ``related``: the
    messages to or from the viewer or a member of one of the viewer's teams, Private Messages
    only the viewer's own.
    """
    message = EmailMessage
    query = _conditions(message.select(*(columns or [LIST_SELECT])), viewer, filters,
                        older_than, newer_than)  # fmt: skip
    if row_scope(viewer, TAB) != "all":
        query = query.where(_related(viewer, filters, older_than, newer_than, limit))
    query = query.order_by(message.id.desc())
    return query.limit(limit) if limit else query


def _conditions(query, viewer, filters, older_than, newer_than):
    """Apply the keyset bounds, the Private Message rule and the filters to ``query``."""
    message = EmailMessage
    if older_than is not None:
        query = query.where(message.id < older_than)
    if newer_than is not None:
        query = query.where(message.id > newer_than)
    party = (message.sender_id == viewer.id) | (message.recipient_id == viewer.id)
    query = query.where((message.private == False) | party)  # noqa: E712 (SQL, not Python)
    return _filtered(query, filters, viewer)


def _related(viewer, filters, older_than, newer_than, limit):
    """Return the condition "to or from one of the viewer's people".

    With a limit (every page, count and poll), it is read one person and one side at a time:
    each arm is the whole query for ``sender = p`` (or ``recipient = p``), newest first and
    capped, a short range of its own index; their union holds the newest ``limit`` rows. As
    one ``IN … OR IN …`` SQLite gathers every related row and sorts them (90 ms at 100,000).
    """
    message = EmailMessage
    people = related_people(viewer)
    if not limit:
        return message.sender_id.in_(people) | message.recipient_id.in_(people)
    arms = []
    for person in people:
        for column in (message.sender_id, message.recipient_id):
            arm = _conditions(message.select(message.id), viewer, filters, older_than, newer_than)
            arm = arm.where(column == person).order_by(message.id.desc()).limit(limit)
            # SQLite takes no ORDER BY/LIMIT inside a UNION arm unless it is a subquery.
            arms.append(message.select(peewee.SQL("id")).from_(arm.alias(f"p{len(arms)}")))
    return message.id.in_(functools.reduce(operator.or_, arms))


def related_people(viewer):
    """Return the ids of ``viewer`` and every member of the viewer's teams."""
    mine = TeamMembership.select(TeamMembership.team).where(TeamMembership.user == viewer.id)
    members = TeamMembership.select(TeamMembership.user).where(TeamMembership.team.in_(mine))
    return sorted({viewer.id} | {row.user_id for row in members})


def _filtered(query, filters, viewer):
    message = EmailMessage
    if filters.recipients:
        query = query.where(message.recipient_id.in_(filters.recipients))
    if filters.senders:
        query = query.where(message.sender_id.in_(filters.senders))
    if filters.kinds:
        query = query.where(message.kind.in_(filters.kinds))
    if filters.statuses:
        query = query.where(message.status.in_(filters.statuses))
    start, end = day_range(filters.date_from, filters.date_to, viewer.zone())
    if start:
        query = query.where(message.queued_at >= start)
    if end:
        query = query.where(message.queued_at < end)
    if filters.text:
        query = query.where(
            message.subject.contains(filters.text)
            | message.recipient_name.contains(filters.text)
            | message.recipient_email.contains(filters.text)
            | message.sender_name.contains(filters.text)
        )
    return query


def kinds():
    """Return the distinct kinds of message queued, by a few index seeks (no full scan)."""
    table = EmailMessage._meta.table_name
    sql = (
        f"WITH RECURSIVE seen(value) AS ("
        f" SELECT MIN(kind) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN(kind) FROM {table} WHERE kind > seen.value)"
        f" FROM seen WHERE seen.value IS NOT NULL)"
        f" SELECT value FROM seen WHERE value IS NOT NULL"
    )
    return [row[0] for row in database.execute_sql(sql)]
