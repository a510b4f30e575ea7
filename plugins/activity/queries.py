"""Reading the Activity tab: the viewer's scope and the filters in SQL, newest first.

``visible_events`` is the one place deciding which events a viewer may see; the feed's panel,
rows fragment, detail view, counts and new-events banner all start from it.
"""

import functools
import operator
from collections import namedtuple
from datetime import datetime

import peewee

from core.db import database
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import team_party
from core.events import user_party
from core.events import viewer_parties
from core.feed import bounded
from core.feed import day_range
from core.people import TeamMembership
from core.tabs import row_scope

TAB = "activity"

# Every column but the wide change set, which is read only when a row is expanded.
LIST_COLUMNS = [column for column in ActivityEvent._meta.sorted_fields if column.name != "changes"]


EventRow = namedtuple("EventRow", [column.name for column in LIST_COLUMNS])

# The same columns as one SQL literal: compiling 17 column nodes is half the page query's
# time otherwise. Unqualified names are unambiguous: the query joins nothing, and its
# subqueries read only the audience table (event_id, party).
LIST_SELECT = peewee.SQL(", ".join(f'"{column.column_name}"' for column in LIST_COLUMNS))


def light_rows(query):
    """Run a ``LIST_SELECT`` query and return ``EventRow`` tuples instead of model objects.

    Building 50 peewee models (and parsing their dates field by field) costs more than the
    query itself; this is the hot path of every page.
    """
    rows = [EventRow._make(values) for values in database.execute(query)]
    if rows and isinstance(rows[0].occurred_at, str):  # SQLite hands back text
        rows = [row._replace(occurred_at=datetime.fromisoformat(row.occurred_at)) for row in rows]
    return rows


def visible_events(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the query of the events ``viewer`` may see under ``filters``, newest first.

    ``older_than`` / ``newer_than`` bound the ids (keyset cursor, new-events poll); ``limit``
    caps the rows. For the ``related`` scope the audience is read one party at a time (the
    viewer, each of their teams), newest first and capped, so a page costs a few short index
    range scans however many events relate to the viewer.
    """
    query = _bounded(ActivityEvent.select(*(columns or [LIST_SELECT])), older_than, newer_than)
    query = _filtered(query, filters, viewer)
    if row_scope(viewer, TAB) != "all":
        query = query.where(_related(viewer, filters, older_than, newer_than, limit))
    query = query.order_by(ActivityEvent.id.desc())
    return query.limit(limit) if limit else query


def _related(viewer, filters, older_than, newer_than, limit):
    """Return the SQL condition "this event relates to ``viewer``".

    Unfiltered pages read the audience one party at a time (the viewer, each of their teams),
    newest first and capped: a few short index range scans, however sparse or dense the
    viewer's events are. Filtered queries are driven by the filter's own index instead and
    check each candidate event's audience with one index probe.
    """
    audience = ActivityAudience
    parties = viewer_parties(viewer)
    if filters.active() or not limit:
        return _audience_has(parties)
    arms = []
    for party in parties:
        arm = _bounded(
            audience.select(audience.event).where(audience.party == party),
            older_than, newer_than, audience.event,
        ).order_by(audience.event.desc()).limit(limit)  # fmt: skip
        # SQLite takes no ORDER BY/LIMIT inside a UNION arm unless it is wrapped in a subquery.
        arms.append(audience.select(peewee.SQL("event_id")).from_(arm.alias(f"p{len(arms)}")))
    return ActivityEvent.id.in_(functools.reduce(operator.or_, arms))


def _audience_has(parties):
    """Return the condition "one of ``parties`` is in this event's audience" (an index probe)."""
    audience = ActivityAudience
    return peewee.fn.EXISTS(
        audience.select(peewee.SQL("1")).where(
            (audience.event == ActivityEvent.id) & audience.party.in_(parties)
        )
    )


def _bounded(query, older_than, newer_than, column=ActivityEvent.id):
    return bounded(query, column, older_than, newer_than)


def _filtered(query, filters, viewer):
    event = ActivityEvent
    if filters.actors:
        query = query.where(event.actor_id.in_(filters.actors))
    if filters.verbs:
        query = query.where(event.verb.in_(filters.verbs))
    if filters.actions:
        query = query.where(event.action.in_(filters.actions))
    if filters.types:
        # Read through the (type, object id, id) index, then sorted: bounded by how many
        # events the types have (a quarter of 1M events: 20 ms). Checked row by row instead, a
        # common type is instant but a rare one scans the whole table (118 ms at 1M).
        query = query.where(event.object_type.in_(filters.types))
    if filters.object:
        query = query.where((event.object_type == filters.object[0])
                            & (event.object_id == filters.object[1]))  # fmt: skip
    if filters.team:
        # Related to the team: the team itself or any of its current members is in the audience.
        members = TeamMembership.select(TeamMembership.user).where(
            TeamMembership.team == filters.team
        )
        parties = [team_party(filters.team)] + [user_party(row.user_id) for row in members]
        query = query.where(_audience_has(parties))
    start, end = day_range(filters.date_from, filters.date_to, viewer.zone())
    if start:
        query = query.where(event.occurred_at >= start)
    if end:
        query = query.where(event.occurred_at < end)
    if filters.text:
        query = query.where(
            event.actor_name.contains(filters.text)
            | event.object_label.contains(filters.text)
            | event.summary.contains(filters.text)
            | event.target_label.contains(filters.text)
        )
    return query


def object_types():
    """Return the distinct object types recorded, by a few index seeks (no full scan)."""
    return _distinct("object_type")


def recorded_actions():
    """Return the distinct actions recorded (``created``, ``updated``…), by index seeks."""
    return _distinct("action")


def _distinct(column):
    # A loose index scan: one seek per distinct value on the column's index, however many
    # events there are (a plain DISTINCT would read every entry of the index).
    table = ActivityEvent._meta.table_name
    sql = (
        f"WITH RECURSIVE seen(value) AS ("
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > seen.value)"
        f" FROM seen WHERE seen.value IS NOT NULL)"
        f" SELECT value FROM seen WHERE value IS NOT NULL"
    )
    return [row[0] for row in ActivityEvent._meta.database.execute_sql(sql)]
