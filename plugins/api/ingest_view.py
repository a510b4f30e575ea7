"""``POST /api/v1/events``: one event or a batch, recorded all or nothing (docs/ingest.md).

In order, each step refusing with a problem that names what was wrong: the token's rate (429,
in the gate, as for every API request), its scope and a Staff Member (403), the
``Idempotency-Key`` (400), the media type (415), the body's size (413) and JSON (400); a retry
is answered from its key here, before its events are checked again; then every event (422,
all refusals of the batch at once), the people and teams it names (422), and one transaction
writes the events, through the same recorder as every in-app action, with the key's answer.
"""

import json
from datetime import timedelta

from flask import Response
from flask import current_app
from flask import request
from flask_login import current_user

from core.db import database
from core.db import utcnow
from core.events import build_entry
from core.events import record_entries
from core.events.recorder import as_in_request
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.api import event_checks
from plugins.api import idempotency
from plugins.api.gate import requires
from plugins.api.ingest import BATCH_LIMIT
from plugins.api.problems import Problem

JSON = "application/json"


@requires("events:write")
def record_events():
    """Record the event or batch of events in the body; answer 201 with their ids, in order."""
    config = current_app.config
    if not current_user.is_staff:
        raise Problem(403, "Only a Staff Member's token may record events.")
    key = _idempotency_key()
    body = _body(config["API_MAX_BODY"])
    ttl = idempotency.ttl_of(config)
    digest = idempotency.digest_of(request.method, request.path, body) if key else None
    if key:
        done = idempotency.lookup(current_user.id, key, ttl)
        if done is not None:
            return _replay(done, digest)
    events, batch = _events(_decoded(body))
    entries = _entries(events, batch, config, body)
    try:
        with database.atomic():
            if key:
                done = idempotency.claim(
                    current_user.id, key, digest, ttl, config["API_IDEMPOTENCY_WAIT"]
                )
                if done is not None:
                    return _replay(done, digest)
            ids = record_entries(entries)
            rows = [entry["row"] for entry in entries]
            text = json.dumps({"data": list(map(_answer, ids, rows))})
            if key:
                idempotency.finish(current_user.id, key, 201, text)
    except idempotency.InProgress:
        raise Problem(
            409,
            "A request with this Idempotency-Key is still in progress; retry it in a moment.",
            headers={"Retry-After": "1"},
        ) from None
    if key:
        idempotency.prune_now_and_then(ttl)
    return Response(text, status=201, mimetype=JSON)


def _idempotency_key():
    """Return the request's ``Idempotency-Key`` (None without one); refuse a bad one."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > idempotency.KEY_LIMIT or not key.isprintable() or not key.isascii():
        raise Problem(
            400,
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            errors=[{"field": "Idempotency-Key", "message": "1 to 255 printable characters"}],
        )
    return key


def _body(limit):
    """Return the body's bytes: JSON (else 415) of at most ``limit`` bytes (else 413)."""
    if request.mimetype != JSON and not request.mimetype.endswith("+json"):
        raise Problem(415, "Send the events as JSON: Content-Type: application/json.")
    too_large = Problem(413, f"The body is over {limit} bytes: send fewer events per request.")
    if (request.content_length or 0) > limit:
        raise too_large  # refused before reading it
    # A body sent without its length is cut at the site's MAX_CONTENT_LENGTH (werkzeug's 413,
    # answered as a problem here), then held to this lower limit.
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise too_large
    if not body.strip():
        raise Problem(400, "The body is empty: send one event (an object) or an array of them.")
    return body


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _decoded(body):
    """Return the body's JSON, or refuse it (400) saying where it is broken."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise Problem(400, "The body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        detail = (
            f"The body is not valid JSON: {error.msg} (line {error.lineno}, col {error.colno})."
        )
        raise Problem(400, detail) from None
    except (ValueError, RecursionError) as error:
        raise Problem(400, f"The body is not valid JSON: {error}.") from None


def _events(document):
    """Return ``(events, is_batch)`` of the decoded body, or refuse its shape (422)."""
    if isinstance(document, dict):
        return [document], False
    if not isinstance(document, list):
        raise Problem(422, "Send one event (an object) or an array of events.")
    if not document:
        raise Problem(422, "The batch is empty: send at least one event.")
    if len(document) > BATCH_LIMIT:
        raise Problem(
            422,
            f"A batch holds at most {BATCH_LIMIT} events (this one {len(document)}).",
            errors=[{"field": "", "message": f"at most {BATCH_LIMIT} events"}],
        )
    return document, True


def _entries(events, batch, config, body):
    """Check ``events`` and find whom they name; return their recorder entries, or refuse
    the whole batch (422) with every refusal."""
    now = utcnow()
    checked, errors = event_checks.check_batch(
        events,
        batch,
        now,
        timedelta(seconds=config["API_CLOCK_SKEW"]),
        timedelta(days=config["API_EVENT_MAX_AGE_DAYS"]),
        body,
    )
    people, teams, memberships = _found([event for event in checked if event is not None])
    entries = []
    for item, event in enumerate(checked):
        if event is None:
            continue
        missing = _missing(event, people, teams)
        for field, message in missing:
            errors.add(item, field, message)
        if not errors:
            entries.append(_entry(event, people, teams, memberships))
    as_in_request(*(entry["row"] for entry in entries))
    if errors:
        count = len({error.get("item") for error in errors})
        detail = f"{count} of {len(events)} events were refused; nothing was recorded."
        raise Problem(422, detail if batch else "The event was refused.", errors=errors)
    return entries


def _found(checked):
    """Read the people and teams the events name, in a few queries for the whole batch.

    Returns ``({("id", n) | ("email", e): User}, {team ids}, {user id: [team ids]})``."""
    references = set()
    for event in checked:
        if event.actor and event.actor[0] != "external":
            references.add(event.actor)
        references.update(reference for _, reference in event.people)
    ids = {value for kind, value in references if kind == "id"}
    emails = {value for kind, value in references if kind == "email"}
    people = {}
    for chunk in _chunks(sorted(ids)):
        for user in User.select(User, Role).join(Role).where(User.id.in_(chunk)):
            people[("id", user.id)] = user
    for chunk in _chunks(sorted(emails)):
        for user in User.select(User, Role).join(Role).where(User.email.in_(chunk)):
            people[("email", user.email)] = user
    wanted = sorted({team for event in checked for _, team in event.teams})
    teams = set()
    for chunk in _chunks(wanted):
        teams.update(team.id for team in Team.select(Team.id).where(Team.id.in_(chunk)))
    actors = sorted({user.id for user in people.values()})
    memberships = {}
    for chunk in _chunks(actors):
        query = TeamMembership.select(TeamMembership.user, TeamMembership.team).where(
            TeamMembership.user.in_(chunk)
        )
        for user_id, team_id in query.tuples():
            memberships.setdefault(user_id, []).append(team_id)
    return people, teams, memberships


def _chunks(values, size=500):
    """Yield ``values`` in slices small enough for any driver's parameter limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _missing(event, people, teams):
    """Return ``[(field, message)]`` for the people and teams of ``event`` that do not exist."""
    missing = []
    if event.actor[0] != "external" and event.actor not in people:
        kind, value = event.actor
        missing.append((f"actor.{kind}", f"no person has the {kind} {value}"))
    for path, reference in event.people:
        if reference not in people:
            missing.append((path, f"no person has the {reference[0]} {reference[1]}"))
    for path, team in event.teams:
        if team not in teams:
            missing.append((path, f"no team has the id {team}"))
    return missing


def _entry(event, people, teams, memberships):
    """Return the recorder's entry for ``event``, as an in-app action by the same actor with
    the same audience is recorded (the actor's teams of today join its audience)."""
    if event.actor[0] == "external":
        actor, actor_teams = event_checks.Ref("external", event.actor[1], event.actor[2]), False
    else:
        actor = people[event.actor]
        actor_teams = memberships.get(actor.id, ())
    return build_entry(
        actor,
        event.verb,
        event.obj,
        changes=event.changes,
        target=event.target,
        audience=event_checks.audience_of(event, people, teams),
        occurred_at=event.occurred_at,
        teams=actor_teams,
        metadata=event.metadata,
    )


def _answer(event_id, row):
    """Return one recorded event as the answer lists it."""
    return {
        "id": event_id,
        "verb": row["verb"],
        "occurred_at": row["occurred_at"].isoformat() + "Z",
    }


def _replay(done, digest):
    """Answer a retry with the answer its key keeps, or 409 if it is another request."""
    if done.digest != digest:
        raise Problem(
            409,
            "This Idempotency-Key was used for a different request; use a new key for it.",
            errors=[{"field": "Idempotency-Key", "message": "used for a different body"}],
        )
    response = Response(done.body, status=done.status, mimetype=JSON)
    response.headers["Idempotent-Replayed"] = "true"
    return response
