"""Reading the Activity tab: the viewer's scope and the filters in SQL, newest first.

``visible_events`` is the one place deciding which events a viewer may see; the feed's panel,
rows fragment, detail view, counts and new-events banner all start from it.
"""

import copy
from datetime import timedelta

import peewee

from core.db import is_sqlite
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
from core.listing.sql import newest_ids
from core.listing.sql import newest_of
from core.listing.sql import request_horizon
from core.people import TeamMembership
from core.search.index import Part
from core.search.index import words_of
from core.tabs import row_scope
from plugins.activity.filters import FILTERS
from plugins.activity.index import DAY
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
    postgres = not is_sqlite()
    # SQLite: the filters the full-text index drives, worked out once for every query below.
    driven = None if postgres else _driven(filters, viewer, columns)
    position = INDEX.unindexed_from() if driven is not None and (filters.words or driven) else None
    if position is not None:
        return _split(viewer, filters, columns, older_than, newer_than, limit, position, driven)
    if limit and columns is None and _read_by_day(filters):
        days = _day_dates(filters, viewer)
        if days and postgres:
            return _by_day(viewer, filters, days, older_than, newer_than, limit)
        if not days:
            # Only the time index can drive this query, and its ids must be sorted: sort the
            # ids alone (the index holds them), then read the page's rows by id. Reading every
            # row of a week to sort them took 70 ms at 1M events; sorting their ids alone ~7.
            ids = _visible(
                viewer, filters, [ActivityEvent.id], older_than, newer_than, limit, driven=driven
            )
            page = ActivityEvent.select(LIST.select).where(ActivityEvent.id.in_(ids))
            return page.order_by(ActivityEvent.id.desc())
    if postgres and limit and columns is None and _words_alone(filters):
        return _word_window(viewer, filters, older_than, newer_than, limit)
    # A count of several words (a phrase, "Task 0042") on PostgreSQL: the index finds the
    # rarest word's rows alone, each checked for every term, and the count stops at its cap;
    # intersecting every word's entries in the index first took 16-30 ms at 1M events.
    rarest = postgres and columns is not None and _included_words(filters) > 1
    per_row = rarest and "rarest"
    if postgres and columns is not None and _has_own_index(filters) and _common_words(filters):
        # Counted through the filter's own index, the words checked on its rows: intersecting
        # an actor's 5,000 ids with a common word's 104,000 entries in the text index took
        # 26-39 ms at 1M events, reading the actor's rows 8-10 ms.
        per_row = True
    query = _visible(
        viewer, filters, columns, older_than, newer_than, limit, per_row, driven=driven
    )
    if postgres and limit and _times_per_row(filters):
        # Counted in id order too: the filter's own (column, id) index then stops after the
        # cap, each row's time checked, instead of intersecting it with every id of the range
        # (an actor's last 30 days: 12 ms → 1 ms at 1M events).
        query.count_in_order = True
    return query


def _times_per_row(filters):
    """Tell whether a day range is checked on each row read rather than through the time
    index (PostgreSQL): when a filter with its own (column, id) index reads the rows."""
    return (
        not is_sqlite() and _has_own_index(filters) and bool(filters.date_from or filters.date_to)
    )


def _by_day(viewer, filters, days, older_than, newer_than, limit):
    """Return the events of a closed day range's UTC ``days`` (PostgreSQL), newest first: each
    day's newest ``limit`` through the (day, id) index, then the newest ``limit`` of those, so
    the query stops after ``limit`` rows a day whatever lies between now and the range (the
    primary key walked back over 660,000 newer rows for a week 60 days back at 1M events; each
    row's time is still checked exactly, in the index).

    One arm, run once per day (``LATERAL``): the query is built and compiled once, however
    many days (eight arms written out cost more Python than the SQL takes).
    """
    arm = _visible(viewer, filters, [ActivityEvent.id], older_than, newer_than, limit)
    sql, params = arm.where(peewee.SQL(f"{DAY} = days.day")).sql()
    ids = peewee.SQL(
        "(SELECT newest.id FROM unnest(%s::date[]) AS days(day)"
        f" CROSS JOIN LATERAL ({sql}) AS newest ORDER BY newest.id DESC LIMIT {int(limit)})",
        [days, *params],
    )
    page = ActivityEvent.select(LIST.select).where(ActivityEvent.id.in_(ids))
    return page.order_by(ActivityEvent.id.desc()).limit(limit)


# Ids below the cursor (or the commit horizon) whose rows are checked one by one for the free
# words before the full-text index is asked for the rest.
WORD_WINDOW = 5000
# A word in fewer rows than this, by the statistics, is looked up in the index directly.
RARE_SHARE = 0.002


def _common_words(filters):
    """Tell whether every included word of the free terms is common by the statistics (a
    rare one is better found through the text index)."""
    share = INDEX.rarest_share(filters.words) if _included_words(filters) else None
    return share is not None and share >= RARE_SHARE


def _included_words(filters):
    """Return how many words the included free terms hold."""
    return sum(len(words_of(term.value)) for term in filters.words if not term.negated)


def _words_alone(filters):
    """Tell whether free words to find (not only excluded ones) are the only filter with an
    index to read events through (an actor, a verb… read by their own index, in id order)."""
    return not _has_own_index(filters) and any(
        not term.negated and words_of(term.value) for term in filters.words
    )


def _word_window(viewer, filters, older_than, newer_than, limit):
    """Return a page of a search by free words (PostgreSQL), newest first.

    The planner guesses how many rows hold the words from sampled statistics, and a wrong
    guess either way is slow: walking ids newest first for a rare word reads the whole table,
    while the index collects every match of a common one, and for a phrase every row with all
    its words, each read again to check their order (83,000 rows for "move this to next week"
    at 1M events: 280 ms), before sorting them. So the rows of the newest ``WORD_WINDOW`` ids
    below the cursor are checked one by one in id order, which stops after ``limit`` matches;
    only when they hold fewer does the index find the matches below the window, sorted (its
    plan is then the index's, never a walk: at most one match in 100 of the newest rows), for
    the rarest included word alone, every term checked on its rows.
    """
    top = older_than if older_than is not None else request_horizon(INDEX.table)
    if top is None:
        return _visible(viewer, filters, None, older_than, newer_than, limit)
    share = INDEX.rarest_share(filters.words)
    if share is not None and share < RARE_SHARE:
        # A word the statistics call rare: straight to the index (the window would read
        # 5,000 rows for a handful of matches).
        ids = _visible(viewer, filters, [ActivityEvent.id], older_than, newer_than, limit, "rarest")
        ids = ids.order_by((ActivityEvent.id + 0).desc())
        page = ActivityEvent.select(LIST.select).where(ActivityEvent.id.in_(ids))
        return page.order_by(ActivityEvent.id.desc()).limit(limit)
    bottom = max(int(top) - WORD_WINDOW, 0)
    lower = bottom if newer_than is None else max(bottom, newer_than)
    window = _visible(viewer, filters, [ActivityEvent.id], older_than, lower, limit, True)
    window = window.cte("word_window", materialized=True, columns=("id",))
    rest = _visible(viewer, filters, [ActivityEvent.id], bottom + 1, newer_than, limit, "rarest")
    # Sorted by an expression no index gives: the matches are collected through the index.
    rest = rest.order_by((ActivityEvent.id + 0).desc())
    # Asked only when the window falls short: the condition sits above the arm's LIMIT, so
    # nothing below it starts otherwise (not even the workers of a parallel plan).
    below = ActivityEvent.select(peewee.SQL("*")).from_(rest.alias("below"))
    below = below.where(peewee.SQL(f"(SELECT COUNT(*) FROM word_window) < {int(limit)}"))
    found = peewee.Table("word_window").select(peewee.SQL("id")) + below
    page = ActivityEvent.select(LIST.select).where(ActivityEvent.id.in_(found))
    return page.order_by(ActivityEvent.id.desc()).limit(limit).with_cte(window)


MAX_INDEXED_DAYS = 62  # a longer range is read through the time index


def _day_dates(filters, viewer):
    """Return the UTC days a closed day range of at most ``MAX_INDEXED_DAYS`` covers, in the
    viewer's zone; [] for another range."""
    if not (filters.date_from and filters.date_to):
        return []
    start, end = day_range(filters.date_from, filters.date_to, viewer.zone())
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if (last - first).days >= MAX_INDEXED_DAYS:
        return []
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _days(filters, viewer):
    """Return those days as the full-text index holds them (``20261101``), for it to read
    newest first (SQLite)."""
    return [day.strftime("%Y%m%d") for day in _day_dates(filters, viewer)]


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


def _split(viewer, filters, columns, older_than, newer_than, limit, position, driven):
    """Return ``visible_events`` while the full-text index (SQLite) has not taken in the
    events above ``position``: the newest ``limit`` of those, each checked itself, and the
    newest ``limit`` below it, read through the index as ever; then the newest of both.
    Only the few events of the last second or so are checked one by one. ``driven``: the
    filters the index drives, as the query would read it unsplit."""
    arms = []
    for recent in (True, False):
        arm = _visible(
            viewer,
            filters,
            [ActivityEvent.id],
            older_than,
            newer_than,
            limit,
            part=Part(position, recent),
            driven=driven,
        )
        sql, params = arm.sql()
        if recent:
            # Walked newest first by id from the top, never through a filter's own index:
            # that would read every event of a type, say, to sort the few above the position.
            table = f'FROM "{INDEX.table}" AS "t1"'
            sql = sql.replace(table, f"{table} NOT INDEXED", 1)
        arms.append(f"SELECT * FROM ({sql}) AS {'recent' if recent else 'indexed'}")
        arms.append(params)
    ids = peewee.SQL(f"({arms[0]} UNION ALL {arms[2]})", [*arms[1], *arms[3]])
    query = ActivityEvent.select(*(columns or [LIST.select]))
    query = query.where(ActivityEvent.id.in_(ids)).order_by(ActivityEvent.id.desc())
    return query.limit(limit) if limit else query


def _driven(filters, viewer, columns):
    """Return the filters the full-text index drives (SQLite), ``{column: values}``: the free
    words are read from it newest match first, intersected there with the type, the days and
    the actor; so is a type or a day range with no other filter to read through (their own
    indexes would need a sort)."""
    driven = {}
    if filters.words or not _has_own_index(filters):
        if filters.types:
            driven["object_type"] = filters.types
        # A count of a day range alone stops after 1,001 ids of the time index, unsorted.
        days = _days(filters, viewer) if columns is None or filters.words or filters.types else []
        if days:
            driven["day"] = days
    if filters.words and filters.actors:  # else the actor's own index reads them in id order
        driven["actor"] = [f"a{actor}" for actor in filters.actors]
    return driven


def _visible(
    viewer,
    filters,
    columns,
    older_than,
    newer_than,
    limit,
    per_row=False,
    part=None,
    driven=None,
):
    """Return the query of ``visible_events``; ``per_row`` checks the free words on each
    row read (PostgreSQL) rather than through the index, ``"rarest"`` on the rows the index
    finds for the rarest word (``TextIndex.condition``); ``part``: one side of ``_split``,
    with the filters the index drives (``driven``) as the whole query would have them."""
    query = bounded(
        ActivityEvent.select(*(columns or [LIST.select])), ActivityEvent.id, older_than, newer_than
    )
    query = _filtered(query, filters, viewer)
    if driven is None:  # PostgreSQL reads no filter through the text index
        driven = _driven(filters, viewer, columns) if is_sqlite() else {}
    words = filters.words
    if words and hides_team_names(viewer):
        # Their words find an event that can name a team by its name-free fields only; the
        # included words still drive the query through the index.
        query = query.where(name_free_words(words, older_than, newer_than))
        words = [term for term in words if not term.negated]
    query, order = INDEX.search(
        query,
        ActivityEvent.id,
        words,
        older_than,
        newer_than,
        values=driven,
        per_row=per_row,
        part=part,
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

    def arm(party):
        query = audience.select(audience.event).where(audience.party == party)
        return newest_ids(query, audience.event, older_than, newer_than, limit, ActivityEvent)

    return newest_of(ActivityEvent.id, (arm, parties))


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
    if _times_per_row(filters):
        # The day range as one function call, which no index reads and the planner expects
        # a third of the rows to pass: so it reads the filter's own (column, id) index in id
        # order, each row's time checked, and stops after the page or the count's cap (an
        # actor's last 30 days counted: 1,001 rows read, 2.7 ms at 1M events). As two
        # comparisons it intersects that index with every id of the range (330,000: 12 ms),
        # or, expecting 1 row in 200, reads all the actor's rows and sorts them.
        days = copy.copy(filters)
        days.date_from = days.date_to = None
        query = FILTERS.where(query, days, viewer)
        start, end = day_range(filters.date_from, filters.date_to, viewer.zone())
        query = query.where(
            peewee.SQL("range_contains_elem(tsrange(%s, %s, '[)'), occurred_at)", [start, end])
        )
    else:
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
