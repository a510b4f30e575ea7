"""Everything the platform keeps about one person, as one JSON Lines bundle (Manage People's
"Export everything about this person").

One JSON object per line, each with its ``kind``, in this order:

- ``person``: their account (no password hash, no session generation), their teams, when and
  by whom the bundle was made;
- ``event``: every event they did (``"as": "actor"``) or that names them in its audience
  (``"as": "audience"``), once each (both: ``actor``), by id; ``changes`` and ``metadata``
  parsed. An event reaching them only through a team is the team's, not theirs;
- ``sign_in``: every row of the sign-in log matched to their account (attempts, ends of
  sessions, locks);
- ``session``: their sessions, without the token's hash;
- then what each plugin answers ``person_records`` (the Email plugin: ``email``).

Core's tables are read here directly, in keyset batches of ``BATCH`` rows by id, so the
memory stays constant however long their history. No long transaction is held: every record
committed before the bundle began is in it; one committing meanwhile may or may not be.
"""

import json
from datetime import datetime

from flask import current_app

from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.db import utcnow
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import user_party
from core.listing.feed import iso_utc
from core.listing.feed import plain_data
from core.people import Team
from core.people import TeamMembership
from core.plugins import hooks

BATCH = 1000
# Never in a bundle: what opens a session.
SESSION_SECRETS = ("token_hash",)
# Event columns holding JSON text, written as the JSON they hold.
JSON_COLUMNS = ("changes", "metadata")


def bundle_lines(person, exporter):
    """Yield the bundle of ``person`` made by ``exporter`` as JSON Lines, one ``str`` per line
    (newline included): the header, their events, sign-ins, sessions, then the plugins'."""
    encode = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
    for record in records(person, exporter):
        yield encode(record) + "\n"


def records(person, exporter):
    """Yield the bundle's records (dicts, each with its ``kind``), in the order of the file."""
    yield header(person, exporter)
    yield from events_of(person)
    yield from rows_of(SignInAttempt, "sign_in", person.id)
    yield from rows_of(UserSession, "session", person.id, leave_out=SESSION_SECRETS)
    yield from plugin_records(person)


def header(person, exporter):
    """Return the first line: ``person``'s account and teams, and who exported it, when."""
    teams = (
        Team.select(Team.name)
        .join(TeamMembership)
        .where(TeamMembership.user == person.id)
        .order_by(Team.name)
    )
    return {
        "kind": "person",
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "role": person.role.name,
        "time_zone": person.time_zone,
        "active": person.active,
        "teams": [team.name for team in teams],
        "created_at": iso_utc(person.created_at),
        "exported_at": iso_utc(utcnow()),
        "exported_by": {"id": exporter.id, "name": exporter.name},
    }


def events_of(person):
    """Yield ``person``'s events, by id: those they did and those whose audience holds their
    own party (``2 × id``), each once, ``as`` the actor when they are both."""
    for event in _events(person.id, BATCH):
        data = plain_data(event)
        for column in JSON_COLUMNS:
            if data.get(column) is not None:
                data[column] = json.loads(data[column])
        side = "actor" if event.actor_id == person.id else "audience"
        yield {"kind": "event", "as": side, **data}


def _events(person_id, size):
    """Yield the events of ``person_id`` (actor or audience), ``size`` at a time by id."""
    cursor = 0
    while True:
        ids = event_ids(person_id, cursor, size)
        if ids:
            # Read whole, like every batch: no statement stays open while the client reads.
            yield from list(
                ActivityEvent.select().where(ActivityEvent.id.in_(ids)).order_by(ActivityEvent.id)
            )
        if len(ids) < size:
            return
        cursor = ids[-1]


def event_ids(person_id, after, size):
    """Return the lowest ``size`` ids above ``after`` of the events ``person_id`` did or is in
    the audience of. Each side is one range of its own index ((actor, id), (party, event));
    the lowest ``size`` of their union are among the lowest ``size`` of each side."""
    event, audience = ActivityEvent, ActivityAudience
    acted = (
        event.select(event.id)
        .where((event.actor_id == person_id) & (event.id > after))
        .order_by(event.id)
        .limit(size)
        .tuples()
    )
    named = (
        audience.select(audience.event)
        .where((audience.party == user_party(person_id)) & (audience.event > after))
        .order_by(audience.event)
        .limit(size)
        .tuples()
    )
    return sorted({row[0] for row in acted} | {row[0] for row in named})[:size]


def rows_of(model, kind, person_id, leave_out=()):
    """Yield the rows of ``model`` whose ``user_id`` is ``person_id`` as records of ``kind``,
    by id, ``BATCH`` at a time, without the columns ``leave_out``."""
    size, cursor = BATCH, 0
    while True:
        batch = list(
            model.select()
            .where((model.user_id == person_id) & (model.id > cursor))
            .order_by(model.id)
            .limit(size)
        )
        for row in batch:
            data = plain_data(row)
            for column in leave_out:
                data.pop(column, None)
            yield {"kind": kind, **data}
        if len(batch) < size:
            return
        cursor = batch[-1].id


def plugin_records(person):
    """Yield what the plugins keep about ``person`` (``person_records``), each ``(kind,
    dict)`` as a record of that kind. A dict of its own ``kind`` is a plugin's bug: refused,
    rather than one of the two names silently lost."""
    for answer in hooks(current_app).person_records(person=person):
        for kind, data in answer or ():
            if "kind" in data:
                raise ValueError(f"person_records: a {kind!r} record has a 'kind' of its own")
            yield {"kind": kind, **data}


def _json_default(value):
    """Write a time a plugin left as a datetime in ISO 8601 UTC, anything else as text."""
    return iso_utc(value) if isinstance(value, datetime) else str(value)
