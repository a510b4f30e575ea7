"""The Activity tab's filters, declared (``core.listing.filters``): the search box (``q``) and the
filter bar's parameters, two views of one state.

Its own rules: ``object:`` is one object's history (never excluded), and ``team:`` names
teams only to the roles that see team names; a team's name in the caption is "a team" to the
others, as in the rows (``secrecy.label_for``). ``action:`` and ``verb:`` read an action as
the rows say it (``edited``) or as recorded (``updated``), through one function
(``action_named``): ``verb:edited`` is every kind of edit (``task.updated``,
``company.updated``…), ``verb:task.updated`` one kind; a word no row says is refused.
"""

import re
from functools import cached_property

from core.events import ActivityEvent
from core.events.recorder import SESSION_PREFIX
from core.inputs import REQUEST_ID
from core.inputs import is_id
from core.listing.filters import Filters
from core.listing.filters import FilterSet
from core.listing.filters import Named
from core.listing.filters import Person
from core.listing.filters import Qualifier
from core.listing.filters import folded
from core.listing.sql import distinct_values
from core.people import Team
from core.people import sees_team_names
from core.search.language import Term
from plugins.activity.describe import ACTIONS_BY_PHRASE
from plugins.activity.describe import PHRASES
from plugins.activity.describe import action_phrase
from plugins.activity.describe import as_words
from plugins.activity.index import INDEX
from plugins.activity.secrecy import label_for

OBJECT_FORMAT = "expected <type>:<id>, e.g. object:task:12 (not excluded)"


class ObjectHistory(Qualifier):
    """``object:task:12`` (or ``?object=task:12``): one object's history; two objects: none."""

    refusal = OBJECT_FORMAT
    param_refusal = "expected <type>:<id>, e.g. task:12"

    def normal(self, value):
        """Return ``(type, id)`` of ``type:id``, or None."""
        kind, _, object_id = value.partition(":")
        return (kind, object_id) if kind and object_id else None

    param_normal = normal

    def check_term(self, term):
        """Refuse a malformed or excluded ``object:`` term."""
        return OBJECT_FORMAT if term.negated or self.normal(term.value) is None else None

    def apply_term(self, term, filters):
        """Make the term's object the one whose history shows (a second one: nothing)."""
        found, chosen = self.normal(term.value), filters.values[self.key]
        filters.nothing = filters.nothing or bool(chosen and chosen[-1] != found)
        chosen[:] = [found]

    def param_terms(self, values):
        """Return ``object:type:id`` as the box writes it."""
        return [Term(self.key, f"{kind}:{object_id}") for kind, object_id in values]


ACTION_WORDS = ", ".join(PHRASES.values())
ACTION_REFUSAL = f"expected an action as rows say it ({ACTION_WORDS}), got {{got}}"
VERB_REFUSAL = (
    f"expected a kind of event like task.updated, or an action as rows say it "
    f"({ACTION_WORDS}), got {{got}}"
)
KIND = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")  # a recorded kind's type: ``task``, ``api_token``
EVERY = "*."  # ``*.updated``: every kind of event of that action (``verb:edited``)


def action_named(word):
    """Return the recorded action ``word`` names, as the rows say it (``edited``, ``commented
    on``) or as recorded (``updated``, ``unlocked``), any case; None when no action is called
    so. The usual actions are known without reading; another must have been recorded."""
    word = " ".join(str(word).lower().split())
    action = ACTIONS_BY_PHRASE.get(word, word)
    if action in PHRASES or action in distinct_values(ActivityEvent, "action"):
        return action
    return None


def verb_named(value):
    """Return what ``verb:value`` stands for: a kind of event (``task.updated``, or
    ``task.edited`` as the rows say it: a dotted name whose action ``action_named`` knows; its
    type may have no event yet), ``*.<action>`` for an action word (every kind of it), None
    for neither."""
    value = value.strip().lower()
    kind, dot, action = value.rpartition(".")
    action = action_named(action)
    if action is None or (dot and not KIND.fullmatch(kind)):
        return None
    return f"{kind}.{action}" if dot else EVERY + action


class Verb(Qualifier):
    """``verb:task.updated``: one kind of event; ``verb:edited`` (any word ``action:`` takes):
    every kind of that action. In the URL too (``?verb=edited``); the box shows the word."""

    refusal = VERB_REFUSAL
    control = None
    column = ActivityEvent.verb

    def normal(self, value):
        """Return the kind of event, or ``*.<action>``, that ``value`` names (None: refused)."""
        return verb_named(value)

    param_normal = normal

    def shown(self, value):
        """Return a value as the box writes it: ``*.updated`` as ``edited``."""
        return action_phrase(value[len(EVERY) :]) if value.startswith(EVERY) else value


def _of_verbs(values):
    """Return the condition "the event is of one of ``values``" (kinds, or ``*.<action>``)."""
    actions = [value[len(EVERY) :] for value in values if value.startswith(EVERY)]
    kinds = [value for value in values if not value.startswith(EVERY)]
    by_action = ActivityEvent.action.in_(actions) if actions else None
    by_kind = ActivityEvent.verb.in_(kinds) if kinds else None
    if by_action is None or by_kind is None:
        return by_kind if by_action is None else by_action
    return by_action | by_kind


SESSION_REFUSAL = "expected a session's number, e.g. session:1204, got {got}"
REQUEST_REFUSAL = "expected a request's id (8 to 64 letters, digits, '.', '_' or '-'), got {got}"


def session_named(value):
    """Return the credential ``session:<n>`` of a session's number ``n`` (None: refused)."""
    value = value.strip()
    return f"{SESSION_PREFIX}{int(value)}" if is_id(value) else None


def session_number(credential):
    """Return the number of the session a ``session:<n>`` credential names, as typed."""
    return credential[len(SESSION_PREFIX) :]


def request_named(value):
    """Return a request's id as recorded (None: not one)."""
    value = value.strip()
    return value if REQUEST_ID.match(value) else None


# The actions of one signed-in session, of one request (``request_id``): each read through
# its own (column, id) index, newest first. A row without the field (a command's action) is
# not excluded by ``-session:`` or ``-request:``.
SESSION = Qualifier(
    "session",
    "sessions",
    column=ActivityEvent.recorded_via,
    normal=session_named,
    param_normal=session_named,
    shown=session_number,
    refusal=SESSION_REFUSAL,
    control=None,
    nulls_pass=True,
)
REQUEST = Qualifier(
    "request",
    "requests",
    column=ActivityEvent.request_id,
    normal=request_named,
    param_normal=request_named,
    refusal=REQUEST_REFUSAL,
    cut=64,
    control=None,
    nulls_pass=True,
)

TEAM = Named(
    "team",
    "teams",
    model=Team,
    noun="team",
    control="team",
    visible=sees_team_names,
    hidden="teams are not shown to your role",
)


class ActivityFilters(Filters):
    """The Activity tab's filters, with what its filter bar and caption read."""

    @property
    def object(self):
        """Return ``(type, id)`` of the object whose history shows, or None."""
        return self.values["object"][-1] if self.values["object"] else None

    @property
    def team(self):
        """Return the teams chosen (the filter bar's Team control reads them)."""
        return self.teams

    @property
    def action_phrases(self):
        """Return the chosen actions as the filter bar names them (``edited``)."""
        return [action_phrase(action) for action in self.actions]

    @cached_property
    def caption(self):
        """Return what the list shows beside its total: whose history it is, if one object's,
        or which session or request its actions were taken in."""
        if not self.object:
            return self._origin_caption()
        kind, object_id = self.object
        # A team's name, for a viewer who may not see it, is "a team" here as in the rows.
        label = label_for(self.viewer, kind, object_label(kind, object_id))
        return f"history of {as_words(kind)} “{label or object_id}”"

    def _origin_caption(self):
        """Return "in session 12", "in one request" (or both) when the list is limited so."""
        parts = []
        if len(self.sessions) == 1 and not self.not_sessions:
            parts.append(f"in session {session_number(self.sessions[0])}")
        if len(self.requests) == 1 and not self.not_requests:
            parts.append("in one request")
        return ", ".join(parts)


FILTERS = FilterSet(
    Person("actor", "actors", column=ActivityEvent.actor_id, nulls_pass=True),
    Qualifier(
        "action",
        "actions",
        column=ActivityEvent.action,
        shown=action_phrase,
        normal=action_named,
        param_normal=action_named,
        refusal=ACTION_REFUSAL,
    ),
    # Read through the (type, object id, id) index, then sorted: bounded by how many events
    # the types have (a quarter of 1M events: 20 ms). Checked row by row instead, a common
    # type is instant but a rare one scans the whole table (118 ms at 1M).
    Qualifier("type", "types", column=ActivityEvent.object_type, normal=folded),
    ObjectHistory("object", "objects", control=None),
    TEAM,
    Verb("verb", "verbs", condition=_of_verbs),
    SESSION,
    REQUEST,
    words=INDEX,
    days=ActivityEvent.occurred_at,
    filters=ActivityFilters,
)
QUALIFIERS = FILTERS.keys
# Read outside the feed (a bench, a test): a refused filter is a 400 naming it.
parse_filters = FILTERS.parse


def object_label(kind, object_id):
    """Return the name the newest event about an object gave it ("" when there is none)."""
    newest = (
        ActivityEvent.select(ActivityEvent.object_label)
        .where((ActivityEvent.object_type == kind) & (ActivityEvent.object_id == object_id))
        .order_by(ActivityEvent.id.desc())
        .first()
    )
    return newest.object_label if newest else ""
