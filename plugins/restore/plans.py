"""What a plugin answers about restoring one Activity record (the ``restore_plan`` and
``restore`` hooks), and the checks every restorer makes the same way.

A plugin that owns a kind of object answers for its records: ``restore_plan(event)`` says
what a restore would bring back (a ``Plan``) or why it cannot (raises ``Refused``), reading
only; ``restore(event, actor)`` brings it back in the caller's transaction and returns what
came back (``Restored``, one per object), which the Restore plugin records, each as
``<type>.restored`` linked to the record it undid. Nothing here records or commits.
"""

import json
from dataclasses import dataclass
from dataclasses import field

from core.events import MASK
from core.events import Ref
from core.events.changes import as_words
from core.people import Role
from core.people import User

# A refusal's status: the object is not as the record left it (409), or the record itself
# can never be restored from the log (422: a masked value, a kind of change not restorable).
CHANGED = 409
NEVER = 422


class Refused(Exception):
    """This record cannot be restored; ``message`` says why to the person asking."""

    def __init__(self, message, status=CHANGED):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Plan:
    """What restoring a record would do: ``what`` in a few words ("Put back Title and
    Status"), and ``notes``, what it will not bring back (shown beside the button)."""

    what: str
    notes: tuple = ()


@dataclass(frozen=True)
class Restored:
    """One object a restore brought back, as its record will say it: ``changes`` is
    ``{field: [value before the restore, value restored]}``, ``undid`` the id of the record
    undone (a company's task: that task's own deletion record)."""

    ref: Ref
    changes: dict
    undid: int
    target: Ref = None
    users: frozenset = field(default_factory=frozenset)
    teams: frozenset = field(default_factory=frozenset)


def recorded_changes(event):
    """Return the change set of ``event`` as a dict (``{}`` when it has none); refuse one that
    is not ``{field: [old, new]}`` (a record sent by another system may hold anything)."""
    try:
        changes = json.loads(event.changes) if event.changes else {}
    except ValueError:
        changes = None
    if not isinstance(changes, dict) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in changes.values()
    ):
        raise Refused("This record's change set is not one a restore can read.", NEVER)
    return changes


def refuse_foreign(event):
    """Refuse a record another system sent (over the API, or by an actor of its own): it
    says what that system did, and a restore acts only on what the platform recorded itself."""
    if event.actor_external_id or (event.recorded_via or "").startswith("api_token:"):
        raise Refused(
            "This record was sent by another system: a restore acts only on what this "
            "platform recorded itself.",
            NEVER,
        )


def recorded_metadata(event):
    """Return the metadata of ``event`` as a dict (``{}`` when it has none or is not one)."""
    try:
        value = json.loads(event.metadata) if event.metadata else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def refuse_masked(changes):
    """Refuse a change set holding a masked value: secrets are never restored from the log."""
    masked = sorted(name for name, values in changes.items() if MASK in values)
    if masked:
        names = ", ".join(as_words(name) for name in masked)
        raise Refused(
            f"{names} is a secret: the log keeps no value of it, so this record cannot be "
            "restored. Change it on the object itself.",
            NEVER,
        )


def refuse_changed(name, now, recorded, words=None):
    """Refuse when a field's value ``now`` is not the one the record left (``recorded``);
    ``words`` maps stored values to what people read (a status's choices)."""
    if now != recorded:
        words = dict(words or {})
        now_shown, recorded_shown = (
            _shown(words.get(v, v) if _hashable(v) else v) for v in (now, recorded)
        )
        raise Refused(
            f"{as_words(name)} has changed since this record: it is now {now_shown}, "
            f"not {recorded_shown}. Nothing was restored."
        )


def _hashable(value):
    return isinstance(value, (str, int, float, bool, type(None)))


def listing(names):
    """Return field names as a sentence says them: ``Title, Status and Assignees``."""
    words = [as_words(name) for name in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def as_they_were(names):
    """Return ``Title as it was`` or ``Title and Status as they were`` (a plan's words)."""
    return f"{listing(names)} as {'it was' if len(names) == 1 else 'they were'}"


def _shown(value):
    if value in (None, "", []):
        return "empty"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    text = str(value)
    return f"“{text if len(text) <= 60 else text[:59] + '…'}”"


def recorded_people(label, ids, names, where_to_fix):
    """Return the users a record names in a field labelled ``label``: by their ``ids`` when it
    kept them, else by ``names``, each of which must name exactly one person now. Refused
    (409) when one is gone or a name is ambiguous; ``where_to_fix`` ends that message ("Set it
    on the object itself.")."""
    if ids is not None:
        query = User.select(User, Role).join(Role).where(User.id.in_(list(ids)))
        found = {user.id: user for user in query}
        if set(ids) - set(found):
            raise Refused(f"{label}: someone recorded there no longer exists.", CHANGED)
        return [found[user_id] for user_id in ids]
    users = []
    for name in names:
        matches = list(User.select(User, Role).join(Role).where(User.name == name).limit(2))
        if len(matches) != 1:
            raise Refused(
                f"{label}: the record names “{name}”, and no one person has that name now. "
                f"{where_to_fix}",
                CHANGED,
            )
        users.append(matches[0])
    return users
