"""Checking events sent to ``POST /api/v1/events`` against ``ingest.EVENT_SCHEMA``, by hand.

Each refusal names the event's index in the batch and the field's path (``object.id``,
``audience.people[2]``), and every refusal of the batch is collected, not just the first. Hand
written rather than a generic validator: a batch of 1,000 events is checked in a few
milliseconds, and each message says what to send instead. ``tests/plugins/api/test_ingest.py``
checks that schema and checks agree on the fields, limits and patterns.

Two passes: ``check_batch`` reads the JSON alone (shapes, limits, times); ``resolve`` then
finds the people and teams named, in a few queries for the whole batch.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from core.events import Audience
from core.events import Ref
from core.events.reads import ACCESS_VERBS
from plugins.api import ingest as schema

VERB = re.compile(schema.VERB_PATTERN)
TYPE = re.compile(schema.TYPE_PATTERN)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # one @, something on each side, no spaces
EVENT_FIELDS = frozenset(schema.EVENT_SCHEMA["properties"])
ACTOR_FORMS = '{"id": …}, {"email": …} or {"external_id": …, "name": …}'


@dataclass
class Checked:
    """One event that passed ``check_batch``: plain values, people still to be found."""

    actor: tuple  # ("id", 12) | ("email", "a@b.org") | ("external", "crm-7", "CRM")
    verb: str
    obj: Ref
    target: Ref
    changes: dict
    people: list  # [(path, ("id", 12) | ("email", …))]
    teams: list  # [(path, team id)]
    occurred_at: datetime
    metadata: str  # its JSON text, compact


class Errors(list):
    """The refusals of a batch: ``{"field", "message"[, "item"]}`` dicts."""

    def __init__(self, batch):
        super().__init__()
        self.batch = batch

    def add(self, item, field, message):
        """Refuse ``field`` of event ``item`` (its index; named only for a batch)."""
        error = {"field": field, "message": message}
        if self.batch:
            error["item"] = item
        self.append(error)


# In a JSON text, NUL and a lone UTF-16 surrogate can only be written as escapes. Neither can
# be stored (PostgreSQL refuses NUL in text; no database encodes a lone surrogate), so a body
# holding such an escape has its strings read one by one to name the fields.
SUSPECT_ESCAPE = re.compile(rb"\\u(0000|[dD][89a-fA-F])")


def check_batch(events, batch, now, skew, max_age, body=b""):
    """Check each event of ``events`` (decoded JSON of ``body``). Returns ``(checked,
    errors)``: ``checked[i]`` is a ``Checked`` or None where event ``i`` was refused. ``now``
    is naive UTC; a time after ``now + skew`` or before ``now - max_age`` is refused."""
    errors = Errors(batch)
    bounds = (now - max_age, now + skew)
    checked = [_event(item, event, errors, now, bounds) for item, event in enumerate(events)]
    if SUSPECT_ESCAPE.search(body):
        for item, event in enumerate(events):
            for path in _unstorable(event, ""):
                errors.add(item, path, "must not hold NUL or a lone surrogate (\\ud800)")
                checked[item] = None
    return checked, errors


def _unstorable(value, path):
    """Yield the paths in ``value`` of the strings (keys too) that cannot be stored."""
    if isinstance(value, str):
        if "\x00" in value or not _encodes(value):
            yield path
    elif isinstance(value, dict):
        for key, inner in value.items():
            inner_path = f"{path}.{key}" if path else key
            if "\x00" in key or not _encodes(key):
                yield inner_path
            else:
                yield from _unstorable(inner, inner_path)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _unstorable(inner, f"{path}[{index}]")


def _encodes(text):
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _event(item, event, errors, now, bounds):
    if not isinstance(event, dict):
        errors.add(item, "", "must be an object (an event)")
        return None
    before = len(errors)
    for name in event.keys() - EVENT_FIELDS:
        errors.add(item, _key(name), "is not a field of an event")
    for name in ("actor", "verb", "object"):
        if name not in event:
            errors.add(item, name, "is required")
    actor = _actor(item, event["actor"], errors) if "actor" in event else None
    verb = _verb(item, event["verb"], errors) if "verb" in event else None
    obj = _ref(item, "object", event["object"], errors) if "object" in event else None
    target = event.get("target")
    target = None if target is None else _ref(item, "target", target, errors)
    changes = _changes(item, event.get("changes"), errors)
    people, teams = _audience(item, event.get("audience"), errors)
    occurred_at = _time(item, event.get("occurred_at"), errors, now, bounds)
    metadata = _metadata(item, event.get("metadata"), errors)
    if len(errors) > before:
        return None
    return Checked(actor, verb, obj, target, changes, people, teams, occurred_at, metadata)


def _key(name):
    return name if isinstance(name, str) else repr(name)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _text(item, path, value, errors, limit, low=1):
    """Return ``value`` if it is a string of ``low``..``limit`` characters, else refuse it."""
    if not isinstance(value, str):
        errors.add(item, path, "must be a string")
    elif len(value.strip()) < low:
        errors.add(item, path, "must not be empty")
    elif len(value) > limit:
        errors.add(item, path, f"must be at most {limit} characters (got {len(value)})")
    else:
        return value
    return None


def _email(item, path, value, errors):
    text = _text(item, path, value, errors, 254)
    if text is None:
        return None
    text = text.strip().lower()
    if not EMAIL.fullmatch(text):
        errors.add(item, path, "must be an email address")
        return None
    return text


def _actor(item, actor, errors):
    if not isinstance(actor, dict):
        errors.add(item, "actor", f"must be an object: {ACTOR_FORMS}")
        return None
    if "id" in actor:
        form = ("id",)
    elif "email" in actor:
        form = ("email",)
    elif "external_id" in actor:
        form = ("external_id", "name")
    else:
        errors.add(item, "actor", f"must be one of {ACTOR_FORMS}")
        return None
    for name in actor.keys() - set(form) if len(actor) > len(form) else ():
        errors.add(item, f"actor.{_key(name)}", f"is not a field of this actor ({ACTOR_FORMS})")
    if form == ("id",):
        if not _is_int(actor["id"]) or not 1 <= actor["id"] <= schema.ID_MAX:
            errors.add(item, "actor.id", "must be a person's id (a whole number from 1)")
            return None
        return ("id", actor["id"])
    if form == ("email",):
        email = _email(item, "actor.email", actor["email"], errors)
        return ("email", email) if email else None
    external = _text(item, "actor.external_id", actor["external_id"], errors, 64)
    if "name" not in actor:
        errors.add(item, "actor.name", "is required with external_id")
        return None
    name = _text(item, "actor.name", actor["name"], errors, 120)
    return ("external", external, name.strip()) if external and name else None


def _verb(item, verb, errors):
    if not isinstance(verb, str) or not VERB.match(verb):
        errors.add(item, "verb", "must be dotted lower-case words, like invoice.paid")
    elif len(verb) > 64:
        errors.add(item, "verb", f"must be at most 64 characters (got {len(verb)})")
    elif len(verb.rsplit(".", 1)[1]) > 32:
        errors.add(item, "verb", "its last part (the action) must be at most 32 characters")
    elif verb in ACCESS_VERBS:
        errors.add(item, "verb", f"{verb} is kept for the stream's own records of reads")
    else:
        return verb
    return None


def _ref(item, path, ref, errors):
    if not isinstance(ref, dict):
        errors.add(item, path, "must be an object with type, id and label")
        return None
    before = len(errors)
    for name in ref.keys() - {"type", "id", "label"}:
        errors.add(item, f"{path}.{_key(name)}", "is not a field (type, id, label)")
    for name in ("type", "id", "label"):
        if name not in ref:
            errors.add(item, f"{path}.{name}", "is required")
    kind, ident, label = ref.get("type"), ref.get("id"), ref.get("label")
    if "type" in ref and (not isinstance(kind, str) or not TYPE.match(kind) or len(kind) > 32):
        errors.add(item, f"{path}.type", "must be lower-case letters, digits and _ (≤ 32)")
    if _is_int(ident):
        ident = str(ident)
        if len(ident) > 64:
            errors.add(item, f"{path}.id", "must be at most 64 characters")
    elif "id" in ref:
        ident = _text(item, f"{path}.id", ident, errors, 64)
    if "label" in ref:
        label = _text(item, f"{path}.label", label, errors, 200)
    return Ref(kind, ident, label) if len(errors) == before else None


def _changes(item, changes, errors):
    if changes is None:
        return None
    if not isinstance(changes, dict):
        errors.add(item, "changes", 'must be an object: {"field": [old, new]}')
        return None
    if len(changes) > schema.CHANGES_LIMIT:
        errors.add(item, "changes", f"must name at most {schema.CHANGES_LIMIT} fields")
        return None
    for name, pair in changes.items():
        if not 1 <= len(name) <= 64:
            errors.add(item, f"changes.{name[:64]}", "a field name is 1 to 64 characters")
        elif not isinstance(pair, list) or len(pair) != 2:
            errors.add(item, f"changes.{name}", "must be a list of two values: [old, new]")
    return changes or None


def _audience(item, audience, errors):
    if audience is None:
        return [], []
    if not isinstance(audience, dict):
        errors.add(item, "audience", 'must be an object: {"people": […], "teams": […]}')
        return [], []
    for name in audience.keys() - {"people", "teams"}:
        errors.add(item, f"audience.{_key(name)}", "is not a field (people, teams)")
    people, teams = [], []
    for name, found in (("people", people), ("teams", teams)):
        values = audience.get(name, [])
        if not isinstance(values, list):
            errors.add(item, f"audience.{name}", "must be a list")
            continue
        if len(values) > schema.AUDIENCE_LIMIT:
            errors.add(item, f"audience.{name}", f"must hold at most {schema.AUDIENCE_LIMIT}")
            continue
        for index, value in enumerate(values):
            path = f"audience.{name}[{index}]"
            if _is_int(value) and 1 <= value <= schema.ID_MAX:
                found.append((path, ("id", value) if name == "people" else value))
            elif name == "people" and isinstance(value, str):
                email = _email(item, path, value, errors)
                if email:
                    found.append((path, ("email", email)))
            else:
                what = "a person's id or email" if name == "people" else "a team's id"
                errors.add(item, path, f"must be {what}")
    return people, teams


def _time(item, value, errors, now, bounds):
    if value is None:
        return now
    moment = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
    if moment is None:
        errors.add(item, "occurred_at", "must be an ISO 8601 time, like 2026-05-01T09:30:00Z")
        return None
    if moment.tzinfo is None:
        errors.add(item, "occurred_at", "must have a time zone (Z or +hh:mm)")
        return None
    moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment > bounds[1]:
        errors.add(item, "occurred_at", "is in the future (beyond the allowed clock skew)")
    elif moment < bounds[0]:
        days = (now - bounds[0]) // timedelta(days=1)
        errors.add(item, "occurred_at", f"is too far in the past (more than {days} days ago)")
    else:
        return moment
    return None


def _metadata(item, metadata, errors):
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        errors.add(item, "metadata", "must be a JSON object")
        return None
    # Measured and stored as the same text: serialised once.
    text = json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if len(text.encode("utf-8", "surrogatepass")) > schema.METADATA_BYTES:
        errors.add(item, "metadata", f"must be at most {schema.METADATA_BYTES} bytes as JSON")
        return None
    return text if metadata else None


def audience_of(checked, people_found, teams_found):
    """Return the ``Audience`` of ``checked`` once its people and teams are found."""
    return Audience(
        users={people_found[reference].id for _, reference in checked.people},
        teams={team for _, team in checked.teams if team in teams_found},
    )
