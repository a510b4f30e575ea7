"""The recorder: the only way activity rows are written.

``record_activity`` writes the event and its audience inside the caller's transaction, so a
change and its record commit together or not at all. It is a plain function, not a hook, so
no plugin can skip it; plugins may enrich the event (``before_record``: a failure is logged and
ignored) and react after commit (``after_commit``).
"""

import contextlib
import json
import logging
import operator
from dataclasses import dataclass
from dataclasses import field

from flask import current_app
from flask import g
from flask import has_request_context
from flask import request
from flask_login import current_user

from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events.changes import summarize
from core.events.models import ActivityAudience
from core.events.models import ActivityEvent
from core.events.models import team_party
from core.events.models import user_party
from core.people import TeamMembership
from core.plugins import hooks
from core.records import all_or_nothing
from core.records import allocate_ids
from core.records import clip
from core.records import insert_many
from core.records import marker_statement
from core.records import sequence_of
from core.search.index import index_of

log = logging.getLogger(__name__)

# ``recorded_via`` of an action taken in a signed-in session: ``session:<UserSession id>``.
SESSION_PREFIX = "session:"


@dataclass(frozen=True)
class Ref:
    """What an event is about: a type, an id and a label copied into the row."""

    type: str
    id: object
    label: str


@dataclass
class Audience:
    """Who an event relates to, beyond its actor and the actor's teams."""

    users: set = field(default_factory=set)
    teams: set = field(default_factory=set)


class RecordError(RuntimeError):
    """The event could not be recorded; the change it records must not commit either."""


def record_activity(
    actor, verb, obj, changes=None, target=None, audience=None, summary=None, metadata=None
):
    """Record one action by ``actor`` (a User, or None for the system) on ``obj`` (a Ref).

    ``verb`` is dotted (``task.updated``); ``changes`` is ``{field: [old, new]}``; ``audience``
    names the parties it relates to; ``metadata`` is a JSON object kept with the event. Runs
    in the caller's transaction (or its own). Returns the saved ``ActivityEvent``.
    """
    in_sql = not is_sqlite()  # PostgreSQL: the actor's teams are read by the insert itself
    entry = build_entry(
        actor, verb, obj, changes, target, audience, summary, teams=not in_sql, metadata=metadata
    )
    as_in_request(entry["row"])
    if in_sql:
        event_id = _record_one_postgres(entry, actor.id if hasattr(actor, "role") else None)
    else:
        (event_id,) = record_entries([entry])
    return _saved_event(event_id, entry["row"])


def _record_one_postgres(entry, member_id):
    """Write one event and its audience (plus the teams of ``member_id``, read in SQL) on
    PostgreSQL in one round trip: savepoint, marker, both inserts, release, and the id."""
    row = entry["row"]
    sequence = sequence_of(EVENTS)
    marks = ", ".join(["%s"] * len(ROW_COLUMNS))
    nested = database.in_transaction()
    sql = (
        f"{'SAVEPOINT activity_record; ' if nested else ''}{marker_statement(EVENTS)}; "
        f"WITH event AS (INSERT INTO {EVENTS} (id, {', '.join(ROW_COLUMNS)})"
        f" VALUES (nextval('{sequence}'), {marks}) RETURNING id)"
        f" INSERT INTO {AUDIENCE} (event_id, party) SELECT event.id, parties.party FROM event,"
        f" (SELECT unnest(%s::bigint[]) AS party UNION SELECT 2 * team_id + 1"
        f" FROM {MEMBERSHIPS} WHERE user_id = %s) AS parties;"
        f" {'RELEASE SAVEPOINT activity_record; ' if nested else ''}SELECT currval('{sequence}')"
    )
    params = [*_row_values(row), sorted(entry["parties"]), member_id]
    with contextlib.ExitStack() as stack:
        if not nested:
            stack.enter_context(database.atomic())
        cursor = database.cursor()
        try:
            cursor.execute(sql, params)
            (event_id,) = cursor.fetchone()
        except Exception as error:
            if nested:
                cursor.execute("ROLLBACK TO SAVEPOINT activity_record")
                cursor.execute("RELEASE SAVEPOINT activity_record")
            raise RecordError(f"could not record 1 event(s): {error}") from error
        _after_commit_of([event_id], [entry])
    return event_id


def _saved_event(event_id, row):
    """Return the ``ActivityEvent`` just written (field by field ``Model(**row)`` costs more
    than the insert)."""
    event = ActivityEvent(__no_default__=True)
    event.__data__.update(_known(row), id=event_id)
    return event


def _known(row):
    """Return the columns of ``row`` that the table has (enrichers may add others)."""
    return dict(zip(ROW_COLUMNS, _row_values(row), strict=True))


def build_entry(
    actor,
    verb,
    obj,
    changes=None,
    target=None,
    audience=None,
    summary=None,
    occurred_at=None,
    teams=True,
    metadata=None,
):
    """Return one event ready for ``record_entries``: its row and its audience parties.

    ``actor`` may be a User, a ``Ref`` of type ``user`` (an imported event), or a ``Ref`` of
    another type: an actor of another system, kept by its id there (``actor_external_id``)
    and name, with no person and so no party of its own. The actor's teams are looked up only
    for a User, and only with ``teams``: True looks them up, a collection of team ids gives
    them (a batch reads every actor's teams at once), False leaves them out (the one-event
    path on PostgreSQL reads them inside its insert instead). ``metadata`` is a JSON object
    (a dict, or its JSON text).
    """
    if "." not in verb:
        raise ValueError(f"verb: {verb!r} must be dotted, like 'task.updated'")
    audience = audience or Audience()
    external = isinstance(actor, Ref) and actor.type != "user"  # no attribute lookup on a User
    person = actor is not None and not external
    row = {
        "occurred_at": occurred_at or utcnow(),
        "actor_id": int(actor.id) if person else None,
        "actor_name": clip(_name(actor), 120),
        "actor_role": actor.role.name if hasattr(actor, "role") else "",
        "verb": verb,
        "action": verb.rsplit(".", 1)[1],
        "object_type": obj.type,
        "object_id": str(obj.id),
        "object_label": clip(obj.label, 200),
        "target_type": target.type if target else None,
        "target_id": str(target.id) if target else None,
        "target_label": clip(target.label, 200) if target else None,
        "summary": clip(summary if summary is not None else summarize(changes or {}), 300),
        "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else None,
        "ip": None,
        "user_agent": None,
        "request_id": None,
        "recorded_via": None,
        "actor_external_id": clip(str(actor.id), 64) if external else None,
        "metadata": _as_json(metadata),
    }
    parties = {user_party(user_id) for user_id in audience.users}
    parties |= {team_party(team_id) for team_id in audience.teams}
    if person:
        parties.add(user_party(actor.id))
    if teams and hasattr(actor, "role"):
        team_ids = _team_ids(actor.id) if teams is True else teams
        parties |= {team_party(team_id) for team_id in team_ids}
    return {"row": row, "parties": parties}


EVENTS = ActivityEvent._meta.table_name
AUDIENCE = ActivityAudience._meta.table_name
MEMBERSHIPS = TeamMembership._meta.table_name

# Column order of the bulk insert; the id is allocated first (see ``allocate_ids``).
ROW_COLUMNS = [f.column_name for f in ActivityEvent._meta.sorted_fields if f.name != "id"]


def _row_values(row):
    """Return the values of ``row`` in ``ROW_COLUMNS`` order (None where a column is missing)."""
    try:
        return _ROW_VALUES(row)
    except KeyError:  # an enricher dropped a column
        return [row.get(column) for column in ROW_COLUMNS]


_ROW_VALUES = operator.itemgetter(*ROW_COLUMNS)


def record_entries(entries, chunk=None):
    """Write ``entries`` (from ``build_entry``) in one transaction; return their ids, in order.

    The bulk path (imports, the API, demo data) and the one-by-one path alike: ids are
    allocated up front, then events and audiences go in through the driver's own batch call
    (``core.records.insert_many``), an order of magnitude faster than peewee's multi-row
    INSERTs, ``chunk`` events at a time (default: ``CHUNK`` of the database).
    """
    if not entries:
        return []
    chunk = chunk or CHUNK["sqlite" if is_sqlite() else "postgresql"]
    with all_or_nothing("activity_record"):
        try:
            cursor = database.cursor()
            ids = allocate_ids(EVENTS, len(entries), cursor)
            # On SQLite the whole call's index rows go in with one statement at its end (the
            # chunks' own inserts then leave them to it): FTS5 writes a segment per statement
            # under a savepoint, so one per call, not one per chunk. One event: the trigger.
            index = index_of(EVENTS) if len(entries) > 1 else None
            with index.batch(cursor, ids[0], ids[-1]) if index else contextlib.nullcontext():
                _insert_chunks(cursor, ids, entries, chunk)
        except Exception as error:
            raise RecordError(f"could not record {len(entries)} event(s): {error}") from error
        _after_commit_of(ids, entries)
    return ids


# Events per batch insert. SQLite's ``executemany`` slows with longer lists (100,000 events in
# chunks of 10,000: 10-15 % slower than of 1,000); a PostgreSQL COPY costs a round trip and a
# statement start, and 10,000 a time were 3-5 % faster than 1,000.
CHUNK = {"sqlite": 1000, "postgresql": 10_000}


def _insert_chunks(cursor, ids, entries, chunk):
    """Insert the events ``ids`` and their audiences, ``chunk`` at a time."""
    for start in range(0, len(entries), chunk):
        batch = list(zip(ids[start : start + chunk], entries[start : start + chunk], strict=True))
        insert_many(
            cursor,
            EVENTS,
            ["id", *ROW_COLUMNS],
            [(event_id, *_row_values(entry["row"])) for event_id, entry in batch],
        )
        insert_many(
            cursor,
            AUDIENCE,
            ["event_id", "party"],
            [(event_id, party) for event_id, entry in batch for party in entry["parties"]],
        )


def _after_commit_of(ids, entries):
    """Call the ``after_commit`` hooks for these events once their transaction commits."""
    if hooks(current_app).after_commit.get_hookimpls():
        for event_id, entry in zip(ids, entries, strict=True):
            event = _saved_event(event_id, entry["row"])
            database.after_commit(lambda event=event: _after_commit(event))


def _team_ids(user_id):
    # Plain SQL: this runs for every recorded action, and the query builder would cost more
    # than the lookup itself.
    table = TeamMembership._meta.table_name
    cursor = database.cursor()
    cursor.execute(f"SELECT team_id FROM {table} WHERE user_id = {database.param}", (user_id,))
    return [row[0] for row in cursor.fetchall()]


def _name(actor):
    if actor is None:
        return "System"
    return getattr(actor, "name", None) or getattr(actor, "label", None) or f"User {actor.id}"


def request_context():
    """Return the IP, user agent, request id and credential of the current request (empty
    outside one). The credential is the one a gate set (``g.recorded_via``: an API token),
    else the signed-in session's (``session:<id>``), so "what did this session do" is one
    lookup."""
    if not has_request_context():
        return {"ip": None, "user_agent": None, "request_id": None, "recorded_via": None}
    return {
        "ip": request.remote_addr,
        "user_agent": clip(request.headers.get("User-Agent"), 300) or None,
        "request_id": g.get("request_id"),
        "recorded_via": g.get("recorded_via") or session_credential(),
    }


def session_credential():
    """Return ``session:<id>`` of the session the current request is signed in with, or None
    (signed out, or a person acting outside a session: a test, a command)."""
    session_id = getattr(current_user, "session_id", None)
    return f"{SESSION_PREFIX}{session_id}" if session_id else None


def _as_json(metadata):
    """Return ``metadata`` (a dict, or JSON text already checked by the caller) as stored."""
    if not metadata or isinstance(metadata, str):
        return metadata or None
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def as_in_request(*rows):
    """Complete ``rows`` as every action recorded in a request is: the request's IP, user
    agent and id, then each ``before_record`` hook's additions."""
    context = request_context()
    enrich = bool(hooks(current_app).before_record.get_hookimpls())
    for row in rows:
        row.update(context)
        if enrich:
            _enrich(row)


def _enrich(row):
    """Let every ``before_record`` hook add to ``row``; one that raises is logged and skipped."""
    for impl in hooks(current_app).before_record.get_hookimpls():
        try:
            impl.function(event=row)
        except Exception:
            log.exception("before_record hook of %s failed; recording anyway", impl.plugin_name)


def _after_commit(event):
    # peewee keeps commit callbacks when only a savepoint rolls back: make sure the event is
    # really there (and is this event, not a later one that reused a rolled-back id).
    stored = ActivityEvent.get_or_none(ActivityEvent.id == event.id)
    if stored is None or (stored.verb, stored.object_id, stored.occurred_at) != (
        event.verb,
        event.object_id,
        event.occurred_at,
    ):
        return
    try:
        hooks(current_app).after_commit(event=event)
    except Exception:
        log.exception("after_commit hook failed for event %s", event.id)
