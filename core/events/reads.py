"""Reads recorded: who read what, with which filter, and actions recorded at most once a while.

An *access event* records a read: an export (``tab.exported``), a list read over the API
(``tab.read``), a message opened with See Message (``email.read``), "Preview as…"
(``settings.previewed``), a search for one person (``tab.searched``), a person's data exported
(``person.exported``): the verbs of
``ACCESS_VERBS``, which the ingest API refuses to take from another system. It is recorded
with no audience, so it relates to no one: a viewer whose scope is "related" never sees it,
and the Activity tab's one query hides it from any other viewer but the Super Admin and the
Admins (``hides_access_events``). What people read about each other is for those who answer
for the platform, not for their colleagues.

``record_once`` records an action unless the same actor recorded the same verb on the same
object with the same details within the last hour: scrolling one list is one record, not
fifty, and a Contact opening a shared document all afternoon is one "viewed" an hour. The
check runs first as a plain read (the common case, a read already recorded, takes no lock);
when it finds nothing, it runs again with the record in one transaction that same-key writers
take in turn (SQLite: the write lock taken at ``BEGIN``; PostgreSQL: a transaction-level
advisory lock on the key), so two requests at once still make one record.
"""

import hashlib
import json
from datetime import timedelta

from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events.models import ActivityEvent
from core.events.recorder import _saved_event
from core.events.recorder import as_in_request
from core.events.recorder import build_entry
from core.events.recorder import record_activity
from core.events.recorder import record_entries

ACCESS_VERBS = (
    "tab.exported",
    "tab.read",
    "tab.searched",
    "email.read",
    "settings.previewed",
    "person.exported",
)
ONCE_WITHIN = timedelta(hours=1)
# How many of an actor's newest events of one verb are compared: past that many distinct reads
# in the window, a read is recorded again (too many records, never too few).
RECENT_COMPARED = 200
# The PostgreSQL advisory lock class of "one record per key": the two-integer key space, apart
# from the commit horizon's one-integer markers.
ONCE_LOCK_CLASS = 0x5EAD


def hides_access_events(viewer):
    """Tell whether the access events are hidden from ``viewer``: from all but the Super Admin
    and the Admins."""
    return not viewer.is_admin


def record_access(reader, verb, obj, changes=None, summary=None, once_within=ONCE_WITHIN):
    """Record that ``reader`` (a User) read ``obj`` (a ``Ref``), with no audience; with
    ``once_within`` (a timedelta, or None for every time) not when the same read was recorded
    within it. Returns the saved event, or None when it was recorded already."""
    if verb not in ACCESS_VERBS:
        raise ValueError(f"verb: {verb!r} is not a read (one of ACCESS_VERBS)")
    return record_once(
        reader, verb, obj, changes=changes, summary=summary, once_within=once_within, seen=False
    )


def record_once(
    actor,
    verb,
    obj,
    changes=None,
    summary=None,
    audience=None,
    target=None,
    once_within=ONCE_WITHIN,
    seen=True,
):
    """Record ``actor``'s ``verb`` on ``obj`` as ``record_activity`` does, unless they recorded
    the same verb on the same object with the same ``changes`` within ``once_within`` (None:
    always). ``seen`` False records it with no audience at all (an access event). Returns the
    saved event, or None when it was recorded already."""
    details = json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else None
    since = utcnow() - once_within if once_within is not None else None
    # Most reads were recorded already: a plain read says so without taking SQLite's write
    # lock, which every reader of the API would otherwise queue on.
    outside = since is not None and not database.in_transaction()
    if outside and _recorded_since(actor.id, verb, obj, details, since):
        return None
    with database.atomic():
        if since is not None:
            _take_turn(actor.id, verb, obj, details)
            if _recorded_since(actor.id, verb, obj, details, since):
                return None
        if seen:
            return record_activity(
                actor, verb, obj, changes=changes, summary=summary, audience=audience,
                target=target,
            )  # fmt: skip
        entry = build_entry(actor, verb, obj, changes, target, summary=summary, teams=False)
        entry["parties"] = set()
        as_in_request(entry["row"])
        (event_id,) = record_entries([entry])
        return _saved_event(event_id, entry["row"])


def _take_turn(actor_id, verb, obj, details):
    """Make same-key writers take turns until their transaction ends. SQLite's write lock,
    taken at ``BEGIN IMMEDIATE``, already does."""
    if is_sqlite():
        return
    key = json.dumps([actor_id, verb, obj.type, str(obj.id), details]).encode()
    number = int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big") >> 1
    database.execute_sql("SELECT pg_advisory_xact_lock(%s, %s)", (ONCE_LOCK_CLASS, number))


def _recorded_since(actor_id, verb, obj, details, since):
    """Tell whether ``actor_id`` recorded ``verb`` on ``obj`` with ``details`` since ``since``
    (their newest events of that verb, read newest first by the (actor, verb) index)."""
    event = ActivityEvent
    recent = (
        event.select(event.occurred_at, event.object_type, event.object_id, event.changes)
        .where((event.actor_id == actor_id) & (event.verb == verb))
        .order_by(event.id.desc())
        .limit(RECENT_COMPARED)
        .tuples()
    )
    wanted = (obj.type, str(obj.id), details)
    for occurred_at, *same in recent:
        if occurred_at < since:
            return False
        if tuple(same) == wanted:
            return True
    return False
