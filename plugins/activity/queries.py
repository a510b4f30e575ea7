"""Reading the Activity tab: filters from the URL, the viewer's scope in SQL, keyset pages.

``visible_events`` is the one place deciding which events a viewer may see; the panel, the rows
fragment, the detail view, counts and the new-events banner all start from it.
"""

import functools
import operator
from collections import namedtuple
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta

import peewee
from flask import abort

from core.db import database
from core.inputs import MAX_ID
from core.people import TeamMembership
from core.tabs import row_scope
from plugins.activity.filters import Filters
from plugins.activity.models import ActivityAudience
from plugins.activity.models import ActivityEvent
from plugins.activity.models import team_party
from plugins.activity.models import user_party

TAB = "activity"
PAGE_SIZE = 50
COUNT_CAP = 1000

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


def visible_events(
    viewer, filters, columns=(LIST_SELECT,), older_than=None, newer_than=None, limit=None
):
    """Return the query of the events ``viewer`` may see under ``filters``, newest first.

    ``older_than`` / ``newer_than`` bound the ids (keyset cursor, new-events poll); ``limit``
    caps the rows. For the ``related`` scope the audience is read one party at a time (the
    viewer, each of their teams), newest first and capped, so a page costs a few short index
    range scans however many events relate to the viewer.
    """
    query = _bounded(ActivityEvent.select(*columns), older_than, newer_than)
    query = _filtered(query, filters, viewer)
    if row_scope(viewer, TAB) != "all":
        query = query.where(_related(viewer, filters, older_than, newer_than, limit))
    query = query.order_by(ActivityEvent.id.desc())
    return query.limit(limit) if limit else query


def viewer_parties(viewer):
    """Return the audience parties that make an event relate to ``viewer``."""
    return [user_party(viewer.id)] + [team_party(team) for team in viewer.team_ids()]


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
    if older_than is not None:
        query = query.where(column < older_than)
    if newer_than is not None:
        query = query.where(column > newer_than)
    return query


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
    zone = viewer.zone()
    if filters.date_from:
        query = query.where(event.occurred_at >= _utc_midnight(filters.date_from, zone))
    if filters.date_to:
        next_day = filters.date_to + timedelta(days=1)
        query = query.where(event.occurred_at < _utc_midnight(next_day, zone))
    if filters.text:
        query = query.where(
            event.actor_name.contains(filters.text)
            | event.object_label.contains(filters.text)
            | event.summary.contains(filters.text)
            | event.target_label.contains(filters.text)
        )
    return query


def page(viewer, filters, after=None, size=PAGE_SIZE):
    """Return ``(events, next_cursor)``: up to ``size`` events older than ``after``."""
    events = light_rows(visible_events(viewer, filters, older_than=after, limit=size + 1))
    more = len(events) > size
    events = events[:size]
    return events, (events[-1].id if more else None)


def total(viewer, filters, cap=COUNT_CAP):
    """Return how many events ``viewer`` may see under ``filters``, up to ``cap + 1``."""
    return _count(visible_events(viewer, filters, [ActivityEvent.id], limit=cap + 1))


def newer_count(viewer, filters, since, cap=COUNT_CAP):
    """Return how many visible events are newer than ``since``, up to ``cap + 1``."""
    query = visible_events(viewer, filters, [ActivityEvent.id], newer_than=since, limit=cap + 1)
    return _count(query)


def _count(limited):
    return (
        ActivityEvent.select(peewee.fn.COUNT(peewee.SQL("*")))
        .from_(limited.order_by().alias("capped"))
        .scalar()
    )


def get_visible_event(viewer, event_id):
    """Return one event with its change set if ``viewer`` may see it, else 404."""
    if not 0 < event_id < MAX_ID:
        abort(404, "There is no such event, or it does not relate to you.")
    columns = ActivityEvent._meta.sorted_fields
    # Bounds on both sides keep the related-scope check to this one id.
    query = visible_events(viewer, Filters(), columns, older_than=event_id + 1,
                           newer_than=event_id - 1)  # fmt: skip
    event = query.first()
    if event is None:
        abort(404, "There is no such event, or it does not relate to you.")
    return event


def object_types():
    """Return the distinct object types recorded, by a few index seeks (no full scan)."""
    table = ActivityEvent._meta.table_name
    sql = (
        f"WITH RECURSIVE seen(value) AS ("
        f" SELECT MIN(object_type) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN(object_type) FROM {table} WHERE object_type > seen.value)"
        f" FROM seen WHERE seen.value IS NOT NULL)"
        f" SELECT value FROM seen WHERE value IS NOT NULL"
    )
    return [row[0] for row in ActivityEvent._meta.database.execute_sql(sql)]


def _utc_midnight(day, zone):
    local = datetime.combine(day, time.min, tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)
