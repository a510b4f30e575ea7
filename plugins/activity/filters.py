"""The Activity tab's filters, read from the URL: the search box (``q``, in the search language
of ``core.search``) and the filter bar's parameters, two views of one state.

A malformed parameter is a 400 naming it; a search term that cannot be read or used is a
``core.feed.SearchRefused`` naming its qualifier. A name that matches nobody is no error: the
list is empty and ``hints`` says why.
"""

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.events import ActivityEvent
from core.feed import refuse
from core.feed import refuse_parse_error
from core.inputs import parse_day_range
from core.inputs import parse_id
from core.people import Team
from core.people import User
from core.people import sees_team_names
from core.search import PeopleNamed
from core.search import Search
from core.search import Term
from core.search import created_terms
from core.search import days_of
from core.search import matching_names
from core.search import parse
from plugins.activity.describe import ACTIONS_BY_PHRASE
from plugins.activity.describe import action_phrase
from plugins.activity.describe import as_words
from plugins.activity.secrecy import label_for

FILTER_KEYS = ("actor", "verb", "action", "type", "object", "team", "from", "to", "q")
QUALIFIERS = ("actor", "action", "type", "object", "team", "verb", "created")


@dataclass
class Filters:
    """The Activity tab's filters: the URL's parameters and the search's terms together."""

    actors: list = field(default_factory=list)
    verbs: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    types: list = field(default_factory=list)
    object: tuple = None  # (type, id): one object's history
    object_label: str = ""  # its name, as the newest event about it copied it
    team: int = None
    teams: list = field(default_factory=list)  # from team: terms (any of them)
    date_from: date = None
    date_to: date = None
    not_actors: list = field(default_factory=list)
    not_verbs: list = field(default_factory=list)
    not_actions: list = field(default_factory=list)
    not_types: list = field(default_factory=list)
    not_teams: list = field(default_factory=list)
    words: list = field(default_factory=list)  # the free words and phrases (``core.search.Term``)
    nothing: bool = False  # a term named nobody: no event can match
    hints: list = field(default_factory=list)
    query: str = ""  # the search box: the whole state as the language writes it

    @property
    def text(self):
        """Return the search box's text (the name the filter bar's macro reads)."""
        return self.query

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (self.actors, self.verbs, self.actions, self.types, self.object, self.team,
             self.teams, self.date_from, self.date_to, self.not_actors, self.not_verbs,
             self.not_actions, self.not_types, self.not_teams, self.words, self.nothing)
        )  # fmt: skip

    @property
    def action_phrases(self):
        """Return the chosen actions as the filter bar names them (``edited``)."""
        return [action_phrase(action) for action in self.actions]

    @property
    def caption(self):
        """Return what the list shows beside its total: whose history it is, if one object's."""
        if self.object:
            return f"history of {as_words(self.object[0])} “{self.object_label or self.object[1]}”"
        return ""

    def controls(self):
        """Return what each control shows: a value when the state has exactly one, else any."""
        teams = self.teams + ([self.team] if self.team else [])
        return {
            "actor": _one(self.actors, self.not_actors),
            "action": _one(self.action_phrases, self.not_actions),
            "type": _one(self.types, self.not_types),
            "team": _one(teams, self.not_teams),
            "from": str(self.date_from or ""),
            "to": str(self.date_to or ""),
        }


def _one(values, excluded):
    return str(values[0]) if len(set(values)) == 1 and not excluded else ""


def parse_filters(args, viewer=None):
    """Read filters from request ``args`` for ``viewer``: the parameters (a malformed one is
    a 400 naming it), then the search box's terms (``SearchRefused`` naming a bad one)."""
    date_from, date_to = parse_day_range(args)
    filters = Filters(
        actors=[parse_id(value, "actor") for value in args.getlist("actor") if value],
        verbs=[value for value in args.getlist("verb") if value],
        actions=[ACTIONS_BY_PHRASE.get(value, value) for value in args.getlist("action") if value],
        types=[value for value in args.getlist("type") if value],
        team=parse_id(args["team"], "team") if args.get("team") else None,
    )
    if filters.team and viewer is not None and not sees_team_names(viewer):
        abort(400, "team: teams are not shown to your role")
    if args.get("object"):
        filters.object = _object(args["object"])
        if filters.object is None:
            abort(400, "object: expected <type>:<id>, e.g. task:12")
    search = parse(args.get("q", ""), QUALIFIERS)
    refuse_parse_error(search)
    legacy = _as_terms(filters, date_from, date_to)
    _apply(filters, search, viewer)
    filters.date_from, filters.date_to = days_of(search, date_from, date_to)
    if filters.object:
        # A team's name, for a viewer who may not see it, is "a team" here as in the rows.
        filters.object_label = label_for(viewer, filters.object[0], object_label(*filters.object))
    filters.query = Search(search.terms + legacy).text()
    return filters


def _object(value):
    kind, _, object_id = value.partition(":")
    return (kind, object_id) if kind and object_id else None


def _as_terms(filters, date_from, date_to):
    """Return the URL's parameters as search terms, so the box shows the whole state."""
    terms = []
    if filters.actors:
        names = dict(User.select(User.id, User.name).where(User.id.in_(filters.actors)).tuples())
        terms += [Term("actor", names[i]) for i in filters.actors if i in names]
    terms += [Term("verb", verb) for verb in filters.verbs]
    terms += [Term("action", action_phrase(action)) for action in filters.actions]
    terms += [Term("type", kind) for kind in filters.types]
    if filters.object:
        terms.append(Term("object", f"{filters.object[0]}:{filters.object[1]}"))
    if filters.team:
        name = Team.select(Team.name).where(Team.id == filters.team).scalar()
        if name:
            terms.append(Term("team", name))
    return terms + created_terms(date_from, date_to)


def _apply(filters, search, viewer):
    """Add the search's terms to ``filters``; a term that cannot be used is refused."""
    people = PeopleNamed()
    for term in search.terms:
        key, value, negated = term.key, term.value, term.negated
        if key == "actor":
            (filters.not_actors if negated else filters.actors).extend(people.ids(filters, term))
        elif key == "action":
            action = ACTIONS_BY_PHRASE.get(value.lower(), value.lower())
            (filters.not_actions if negated else filters.actions).append(action)
        elif key == "verb":
            (filters.not_verbs if negated else filters.verbs).append(value.lower())
        elif key == "type":
            kind = "_".join(value.lower().split())
            (filters.not_types if negated else filters.types).append(kind)
        elif key == "object":
            found = _object(value)
            if found is None or negated:
                refuse(search, term, "expected <type>:<id>, e.g. object:task:12 (not excluded)")
            if filters.object and filters.object != found:
                filters.nothing = True
            filters.object = found
        elif key == "team":
            _apply_team(filters, search, term, viewer)
        elif not key:
            filters.words.append(term)


def _apply_team(filters, search, term, viewer):
    if viewer is not None and not sees_team_names(viewer):
        refuse(search, term, "teams are not shown to your role")
    teams = list(Team.select(Team.id, Team.name).tuples())
    found = matching_names(term.value, teams)
    if not found and not term.negated:
        filters.nothing = True
        filters.hints.append(f"No team is named “{term.value}”.")
    (filters.not_teams if term.negated else filters.teams).extend(found)


def object_label(kind, object_id):
    """Return the name the newest event about an object gave it ("" when there is none)."""
    newest = (
        ActivityEvent.select(ActivityEvent.object_label)
        .where((ActivityEvent.object_type == kind) & (ActivityEvent.object_id == object_id))
        .order_by(ActivityEvent.id.desc())
        .first()
    )
    return newest.object_label if newest else ""
