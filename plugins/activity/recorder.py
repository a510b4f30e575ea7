"""The recorder: the only way activity rows are written.

``record_activity`` writes the event and its audience inside the caller's transaction, so a
change and its record commit together or not at all. It is a plain function, not a hook, so
no plugin can skip it; plugins may enrich the event (``before_record``: a failure is logged and
ignored) and react after commit (``after_commit``).
"""

import json
import logging
import operator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field

import psycopg2.extras
from flask import current_app
from flask import g
from flask import has_request_context
from flask import request

from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.people import TeamMembership
from core.plugins import hooks
from plugins.activity.changes import summarize
from plugins.activity.models import ActivityAudience
from plugins.activity.models import ActivityEvent
from plugins.activity.models import team_party
from plugins.activity.models import user_party

log = logging.getLogger(__name__)


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


def record_activity(actor, verb, obj, changes=None, target=None, audience=None, summary=None):
    """Record one action by ``actor`` (a User, or None for the system) on ``obj`` (a Ref).

    ``verb`` is dotted (``task.updated``); ``changes`` is ``{field: [old, new]}``; ``audience``
    names the parties it relates to. Runs in the caller's transaction (or its own).
    Returns the saved ``ActivityEvent``.
    """
    entry = build_entry(actor, verb, obj, changes, target, audience, summary)
    entry["row"].update(request_context())
    _enrich(entry["row"])
    (event_id,) = record_entries([entry])
    return _saved_event(event_id, entry["row"])


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
    actor, verb, obj, changes=None, target=None, audience=None, summary=None, occurred_at=None
):
    """Return one event ready for ``record_entries``: its row and its audience parties.

    ``actor`` may be a User or a ``Ref`` of type ``user`` (an imported event); the actor's
    teams are looked up only for a User.
    """
    if "." not in verb:
        raise ValueError(f"verb: {verb!r} must be dotted, like 'task.updated'")
    audience = audience or Audience()
    row = {
        "occurred_at": occurred_at or utcnow(),
        "actor_id": int(actor.id) if actor is not None else None,
        "actor_name": _clip(_name(actor), 120),
        "actor_role": actor.role.name if hasattr(actor, "role") else "",
        "verb": verb,
        "action": verb.rsplit(".", 1)[1],
        "object_type": obj.type,
        "object_id": str(obj.id),
        "object_label": _clip(obj.label, 200),
        "target_type": target.type if target else None,
        "target_id": str(target.id) if target else None,
        "target_label": _clip(target.label, 200) if target else None,
        "summary": _clip(summary if summary is not None else summarize(changes or {}), 300),
        "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else None,
        "ip": None,
        "user_agent": None,
        "request_id": None,
    }
    parties = {user_party(user_id) for user_id in audience.users}
    parties |= {team_party(team_id) for team_id in audience.teams}
    if actor is not None:
        parties.add(user_party(actor.id))
    if hasattr(actor, "role"):
        parties |= {team_party(team_id) for team_id in _team_ids(actor.id)}
    return {"row": row, "parties": parties}


# PostgreSQL advisory lock key held by every event writer until it commits (see allocate_ids).
EVENT_WRITER_LOCK = 7_271_001

# Column order of the bulk insert; the id is allocated first (see ``allocate_ids``).
ROW_COLUMNS = [f.column_name for f in ActivityEvent._meta.sorted_fields if f.name != "id"]


def _row_values(row):
    """Return the values of ``row`` in ``ROW_COLUMNS`` order (None where a column is missing)."""
    try:
        return _ROW_VALUES(row)
    except KeyError:  # an enricher dropped a column
        return [row.get(column) for column in ROW_COLUMNS]


_ROW_VALUES = operator.itemgetter(*ROW_COLUMNS)


def record_entries(entries, chunk=1000):
    """Write ``entries`` (from ``build_entry``) in one transaction; return their ids, in order.

    The bulk path (imports, the API, demo data) and the one-by-one path alike: ids are
    allocated up front, then events and audiences go in through the driver's own batch call
    (``_insert_many``), an order of magnitude faster than peewee's multi-row INSERTs.
    """
    if not entries:
        return []
    with _all_or_nothing():
        try:
            cursor = database.cursor()
            ids = allocate_ids(len(entries), cursor)
            for start in range(0, len(entries), chunk):
                batch = list(
                    zip(ids[start : start + chunk], entries[start : start + chunk], strict=True)
                )
                _insert_many(
                    cursor,
                    ActivityEvent,
                    ["id", *ROW_COLUMNS],
                    [(event_id, *_row_values(entry["row"])) for event_id, entry in batch],
                )
                _insert_many(
                    cursor,
                    ActivityAudience,
                    ["event_id", "party"],
                    [(event_id, party) for event_id, entry in batch for party in entry["parties"]],
                )
        except Exception as error:
            raise RecordError(f"could not record {len(entries)} event(s): {error}") from error
        if hooks(current_app).after_commit.get_hookimpls():
            for event_id, entry in zip(ids, entries, strict=True):
                event = _saved_event(event_id, entry["row"])
                database.after_commit(lambda event=event: _after_commit(event))
    return ids


def _insert_many(cursor, model, columns, rows):
    """Insert ``rows`` with the driver's fastest batch call.

    sqlite3's ``executemany`` steps one prepared statement per row in C; psycopg2's sends one
    round trip per row, so PostgreSQL gets multi-row VALUES pages from ``execute_values``.
    """
    table = model._meta.table_name
    if is_sqlite():
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    else:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s"
        psycopg2.extras.execute_values(cursor, sql, rows, page_size=len(rows))


@contextmanager
def _all_or_nothing():
    """Write inside the caller's transaction under a savepoint (a failure undoes the event
    and its audience, never the caller's other writes), or in a transaction of our own.

    The savepoint has a fixed name, unlike ``database.atomic()``'s random one, so SQLite reuses
    the prepared statements: this runs once per recorded action.
    """
    if not database.in_transaction():
        with database.atomic():
            yield
        return
    cursor = database.cursor()
    cursor.execute("SAVEPOINT activity_record")
    try:
        yield
    except BaseException:
        cursor.execute("ROLLBACK TO SAVEPOINT activity_record")
        cursor.execute("RELEASE SAVEPOINT activity_record")
        raise
    cursor.execute("RELEASE SAVEPOINT activity_record")


def allocate_ids(count, cursor):
    """Reserve ``count`` new, increasing event ids inside the current write transaction.

    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so the next ids after the
    current maximum are ours. PostgreSQL: taken from the id sequence, safe across sessions.
    """
    table = ActivityEvent._meta.table_name
    if is_sqlite():
        last = cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        return list(range(last + 1, last + count + 1))
    # Writers of events queue on this transaction-scoped lock until they commit, so ids
    # become visible in the order they were handed out (as BEGIN IMMEDIATE gives on SQLite):
    # a reader polling for "ids above the newest I saw" can never miss a late commit.
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (EVENT_WRITER_LOCK,))
    cursor.execute(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
        f"FROM generate_series(1, {int(count)})"
    )
    return sorted(row[0] for row in cursor.fetchall())


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
    """Return the IP, user agent and request id of the current request (empty outside one)."""
    if not has_request_context():
        return {"ip": None, "user_agent": None, "request_id": None}
    return {
        "ip": request.remote_addr,
        "user_agent": _clip(request.headers.get("User-Agent"), 300) or None,
        "request_id": g.get("request_id"),
    }


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


def _clip(text, limit):
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
