"""Reading the Activity tab: the viewer's scope and the filters in SQL, newest first.

``visible_events`` is the one place deciding which events a viewer may see; the feed's panel,
rows fragment, detail view, counts and new-events banner all start from it.
"""

from datetime import timedelta

import peewee

from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import team_party
from core.events import user_party
from core.events import viewer_parties
from core.events.reads import ACCESS_VERBS
from core.events.reads import hides_access_events
from core.listing.sql import ListColumns
from core.listing.sql import bounded
from core.listing.sql import day_range
from core.listing.sql import distinct_values
from core.listing.sql import newest_of
from core.people import TeamMembership
from core.tabs import row_scope
from plugins.activity.filters import FILTERS
from plugins.activity.index import INDEX
from plugins.activity.secrecy import hides_team_names
from plugins.activity.secrecy import name_free_words

TAB = "activity"

# Every column but the wide change set, the metadata and the credential, read only when a row is
# expanded. Compiling 17 column nodes was half the page query's time; the columns go in as one
# SQL literal.
LIST = ListColumns(ActivityEvent, exclude=("changes", "metadata", "recorded_via"))


def visible_events(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the query of the events ``viewer`` may see under ``filters``, newest first.

    ``older_than`` / ``newer_than`` bound the ids (keyset cursor, new-events poll); ``limit``
    caps the rows. For the ``related`` scope the audience is read one party at a time (the
    viewer, each of their teams), newest first and capped, so a page costs a few short index
    range scans however many events relate to the viewer.
    """
    if limit and columns is None and _read_by_day(filters) and not _days(filters, viewer):
        # Only the day index can drive this query, and its ids must be sorted: sort the ids
        # alone (the index holds them), then read the page's rows by id. Reading every row of
        # a week to sort them took 70 ms at 1M events; sorting their ids alone takes ~7.
        ids = _visible(viewer, filters, [ActivityEvent.id], older_than, newer_than, limit)
        page = ActivityEvent.select(LIST.select).where(ActivityEvent.id.in_(ids))
        return page.order_by(ActivityEvent.id.desc())
    return _visible(viewer, filters, columns, older_than, newer_than, limit)


MAX_INDEXED_DAYS = 62  # a longer range is read through the time index


def _days(filters, viewer):
    """Return the UTC days (``20261101``) a closed day range of at most ``MAX_INDEXED_DAYS``
    covers, for the full-text index to read newest first; [] for another range."""
    if not (filters.date_from and filters.date_to):
        return []
    start, end = day_range(filters.date_from, filters.date_to, viewer.zone())
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if (last - first).days >= MAX_INDEXED_DAYS:
        return []
    return [(first + timedelta(days=n)).strftime("%Y%m%d") for n in range((last - first).days + 1)]


def _read_by_day(filters):
    """Tell whether a day range is the only filter with an index to read the events through."""
    return bool(filters.date_from or filters.date_to) and not (
        _has_own_index(filters) or filters.types or filters.words
    )


def _has_own_index(filters):
    """Tell whether a chosen filter has a (column, id) index of its own to read events through,
    newest first: an actor, a kind of event, an object, a session or a request."""
    return bool(
        filters.actors
        or filters.verbs
        or filters.actions
        or filters.object
        or filters.sessions
        or filters.requests
    )


def _visible(viewer, filters, columns, older_than, newer_than, limit):
    query = bounded(
        ActivityEvent.select(*(columns or [LIST.select])), ActivityEvent.id, older_than, newer_than
    )
    query = _filtered(query, filters, viewer)
    # The free words drive the query from the full-text index, newest match first, the index
    # intersecting them with the type, the days and the actor; so do a type or a day range
    # with no other filter to read through (their own indexes would need a sort).
    driven = {}
    if filters.words or not _has_own_index(filters):
        if filters.types:
            driven["object_type"] = filters.types
        # A count of a day range alone stops after 1,001 ids of the time index, unsorted.
        if _days(filters, viewer) and (columns is None or filters.words or filters.types):
            driven["day"] = _days(filters, viewer)
    if filters.words and filters.actors:  # else the actor's own index reads them in id order
        driven["actor"] = [f"a{actor}" for actor in filters.actors]
    words = filters.words
    if words and hides_team_names(viewer):
        # Their words find an event that can name a team by its name-free fields only; the
        # included words still drive the query through the index.
        query = query.where(name_free_words(words, older_than, newer_than))
        words = [term for term in words if not term.negated]
    query, order = INDEX.search(
        query, ActivityEvent.id, words, older_than, newer_than, values=driven
    )
    if row_scope(viewer, TAB) != "all":
        # Access events have no audience: no one reads them through "related".
        query = query.where(_related(viewer, filters, older_than, newer_than, limit))
    elif hides_access_events(viewer):
        query = query.where(ActivityEvent.verb.not_in(ACCESS_VERBS))
    query = query.order_by(order.desc())
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
    arms = [
        bounded(
            audience.select(audience.event).where(audience.party == party),
            audience.event,
            older_than,
            newer_than,
            ids_of=ActivityEvent,
        )
        .order_by(audience.event.desc())
        .limit(limit)
        for party in parties
    ]
    return newest_of(ActivityEvent.id, arms)


def _audience_has(parties):
    """Return the condition "one of ``parties`` is in this event's audience" (an index probe)."""
    audience = ActivityAudience
    return peewee.fn.EXISTS(
        audience.select(peewee.SQL("1")).where(
            (audience.event == ActivityEvent.id) & audience.party.in_(parties)
        )
    )


def _filtered(query, filters, viewer):
    """Apply the declared filters, then the tab's own: one object's history, and teams."""
    query = FILTERS.where(query, filters, viewer)
    if filters.object:
        query = query.where(
            (ActivityEvent.object_type == filters.object[0])
            & (ActivityEvent.object_id == filters.object[1])
        )
    if filters.teams:
        query = query.where(_audience_has(_team_parties(filters.teams)))
    if filters.not_teams:
        query = query.where(~_audience_has(_team_parties(filters.not_teams)))
    return query


def _team_parties(teams):
    """Return the parties of ``teams``: each team, and each of its current members (an event
    relates to a team when the team or any member is in its audience)."""
    members = TeamMembership.select(TeamMembership.user).where(TeamMembership.team.in_(teams))
    return sorted({team_party(team) for team in teams} | {user_party(r.user_id) for r in members})


def object_types():
    """Return the distinct object types recorded, by a few index seeks (no full scan)."""
    return distinct_values(ActivityEvent, "object_type")


def recorded_actions():
    """Return the distinct actions recorded (``created``, ``updated``…), by index seeks."""
    return distinct_values(ActivityEvent, "action")
