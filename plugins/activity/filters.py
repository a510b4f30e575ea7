"""The Activity tab's filters, declared (``core.listing.filters``): the search box (``q``) and the
filter bar's parameters, two views of one state.

Its own rules: ``object:`` is one object's history (never excluded), and ``team:`` names
teams only to the roles that see team names; a team's name in the caption is "a team" to the
others, as in the rows (``secrecy.label_for``).
"""

from functools import cached_property

from core.events import ActivityEvent
from core.listing.filters import Filters
from core.listing.filters import FilterSet
from core.listing.filters import Named
from core.listing.filters import Person
from core.listing.filters import Qualifier
from core.listing.filters import folded
from core.listing.filters import lowered
from core.people import Team
from core.people import sees_team_names
from core.search.language import Term
from plugins.activity.describe import ACTIONS_BY_PHRASE
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
        """Return what the list shows beside its total: whose history it is, if one object's."""
        if not self.object:
            return ""
        kind, object_id = self.object
        # A team's name, for a viewer who may not see it, is "a team" here as in the rows.
        label = label_for(self.viewer, kind, object_label(kind, object_id))
        return f"history of {as_words(kind)} “{label or object_id}”"


FILTERS = FilterSet(
    Person("actor", "actors", column=ActivityEvent.actor_id, nulls_pass=True),
    Qualifier(
        "action",
        "actions",
        column=ActivityEvent.action,
        shown=action_phrase,
        normal=lambda value: ACTIONS_BY_PHRASE.get(value.lower(), value.lower()),
        param_normal=lambda value: ACTIONS_BY_PHRASE.get(value, value),
    ),
    # Read through the (type, object id, id) index, then sorted: bounded by how many events
    # the types have (a quarter of 1M events: 20 ms). Checked row by row instead, a common
    # type is instant but a rare one scans the whole table (118 ms at 1M).
    Qualifier("type", "types", column=ActivityEvent.object_type, normal=folded),
    ObjectHistory("object", "objects", control=None),
    TEAM,
    Qualifier("verb", "verbs", column=ActivityEvent.verb, normal=lowered, control=None),
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
