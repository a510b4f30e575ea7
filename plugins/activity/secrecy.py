"""Team names on the Activity tab, for the viewers who may not see them (everyone but the Super
Admin, Admins, Project Managers and Office Managers: ``core.people.sees_team_names``).

No answer of the tab may depend on a team's name for them: not a row, a detail, a caption, a
total or a search. Two halves, both deciding by the event's shape (its types, which keys its
change set has), never by the names themselves, which would make the decision an oracle:

- ``team_free``: how an event reads. An event on a team (as object or target) shows "a team"
  for the label and hides the value of every field but its members (a description, or any
  other text, may repeat the name); a person's ``teams`` read "a team" each; a Settings grant
  to a team is keyed "team a team". The summary is written again from what is left.
- ``name_free_words``: free words and phrases find an event that names teams by the parts
  that hold no team name only (the actor, the action, the type, a label that is not a
  team's); any other event by every indexed field, as for everyone.
"""

import itertools
import json

import peewee

from core.db import is_sqlite
from core.events import ActivityEvent
from core.events.changes import MASK
from core.events.changes import summarize
from core.people import HIDDEN_TEAM
from core.people import sees_team_names
from core.people import team_label
from core.search.index import checked_on_row
from core.search.index import words_of
from plugins.activity.index import INDEX

# The object types whose events can hold a team's name: a team's own, a person's (their
# teams), a tab's Settings (a grant to a team).
CARRIERS = frozenset({"team", "settings", "user"})
# The one field of a team's change set that names no team: its members are people.
NAME_FREE_TEAM_FIELDS = frozenset({"members"})
TEAM_KEY = "team "  # a Settings grant to a team: ``team <name>``
# The index's columns that never hold a team's name, whatever the event; an event's labels
# are searched too when they are not a team's.
ALWAYS_SEARCHED = ("actor_name", "action", "object_type")


def hides_team_names(viewer):
    """Tell whether ``viewer`` must read the tab without team names."""
    return not sees_team_names(viewer)


def may_name_teams(event):
    """Tell whether ``event`` (a row or a model) is of a kind that can hold a team's name."""
    return event.object_type in CARRIERS or event.target_type == "team"


def about_a_team(event):
    """Tell whether ``event`` is about a team, as its object or its target."""
    return event.object_type == "team" or event.target_type == "team"


def team_free(event):
    """Return how ``event`` reads without team names: ``{"object_label", "target_label",
    "summary", "changes", "metadata"}`` (changes as a dict, in the recorded order; metadata as
    recorded, a JSON text, or None when hidden)."""
    changes = json.loads(event.changes) if event.changes else {}
    shown = {
        "object_label": HIDDEN_TEAM if event.object_type == "team" else event.object_label,
        "target_label": HIDDEN_TEAM if event.target_type == "team" else event.target_label,
        "summary": event.summary,
        "changes": changes,
        # Free metadata sent by another system may repeat a team's name anywhere: on an event
        # that can hold one it is left out whole (a list row never carries it).
        "metadata": getattr(event, "metadata", None),
    }
    if not may_name_teams(event):
        return shown
    shown["metadata"] = None
    hidden, granted, touched = {}, [], about_a_team(event)
    for field, (old, new) in changes.items():
        if field.startswith(TEAM_KEY):
            granted.append([old, new])
            continue
        if field == "teams":
            old, new, touched = _as_teams(old), _as_teams(new), True
        elif about_a_team(event) and field not in NAME_FREE_TEAM_FIELDS:
            old, new = _hidden(field, old), _hidden(field, new)
        hidden[field] = [old, new]
    # Grants to several teams in one change would be told apart by their order, which is the
    # names' (keys are sorted): they are listed by their values instead.
    for number, values in enumerate(sorted(granted, key=json.dumps), start=1):
        hidden[TEAM_KEY + HIDDEN_TEAM + (f" {number}" if number > 1 else "")] = values
    touched = touched or bool(granted)
    shown["changes"] = hidden
    if touched and event.summary:
        shown["summary"] = _summary(hidden)
    return shown


def _as_teams(value):
    if isinstance(value, list):
        return [HIDDEN_TEAM] * len(value)
    return HIDDEN_TEAM if value else value


def _hidden(field, value):
    """Return a team's field as the viewer may read it: nothing stays nothing, a name is
    "a team", any other value is hidden."""
    if value is None or value == "" or value == []:
        return value
    return HIDDEN_TEAM if field == "name" else MASK


def _summary(changes):
    """Return the summary of ``changes`` (already without names); a change of members alone
    reads as recorded: ``Members: +Dana Scully``."""
    if set(changes) == {"members"}:
        old, new = (set(value or []) for value in changes["members"])
        moves = [f"+{name}" for name in sorted(new - old)]
        moves += [f"−{name}" for name in sorted(old - new)]
        if moves:
            return "Members: " + ", ".join(moves)
    return summarize(changes)


def label_for(viewer, kind, label):
    """Return an object's label (``kind`` its type) as ``viewer`` may read it."""
    return team_label(viewer, label) if kind == "team" and label else label


# Searching ---------------------------------------------------------------------------------


def names_teams():
    """Return the SQL condition "this event can hold a team's name", by its shape alone: on a
    team (object or target), a person's change of teams, a Settings grant to a team."""
    event = ActivityEvent
    changes = peewee.fn.COALESCE(event.changes, "")
    return (
        (event.object_type == "team")
        | (peewee.fn.COALESCE(event.target_type, "") == "team")
        | ((event.object_type == "user") & changes.contains('"teams":'))
        | ((event.object_type == "settings") & changes.contains(f'"{TEAM_KEY}'))
    )


def name_free_words(words, older_than=None, newer_than=None):
    """Return the SQL condition "the event matches ``words`` (free words and phrases, included
    and excluded) in text that holds no team name": every indexed field of an event that
    cannot name a team, the name-free fields only of one that can (``names_teams``).

    ``INDEX.search`` over the included words alone still drives the query: an event matching
    them in its name-free fields matches them in all of its fields too.
    """
    excluded = [term for term in words if term.negated]
    included = [term for term in words if not term.negated]
    others = INDEX.condition(ActivityEvent.id, excluded, older_than, newer_than)
    carriers = names_teams()
    plain = ~carriers if others is None else (~carriers & others)
    return plain | (carriers & _name_free_match(included, excluded))


def _name_free_match(included, excluded):
    """Return the condition "the name-free fields match": of an event that can name a team."""
    included, excluded = _worded(included), _worded(excluded)
    if not included and not excluded:
        return peewee.SQL("1 = 1")
    if not INDEX.exists():
        # Before the index's migration the words would be a scan of every field: such an
        # event is left out of any word search instead.
        return peewee.SQL("1 = 0")
    if not is_sqlite():
        return _tsquery_match(included, excluded)
    position = INDEX.unindexed_from()
    if position is None:
        return _fts5_match(included, excluded)
    # The events above the index's position are not in it yet: each is checked itself.
    event = ActivityEvent
    return ((event.id <= position) & _fts5_match(included, excluded)) | (
        (event.id > position) & _checked_match(included, excluded)
    )


def _worded(terms):
    return [(words_of(term.value), term) for term in terms if words_of(term.value)]


def _fts5_match(included, excluded):
    """SQLite: one index probe for the event's own row id, on the columns its shape allows."""
    event = ActivityEvent
    target_is_team = peewee.fn.COALESCE(event.target_type, "") == "team"
    condition = None
    for object_team, target_team in itertools.product((False, True), repeat=2):
        columns = list(ALWAYS_SEARCHED)
        columns += [] if object_team else ["object_label"]
        columns += [] if target_team else ["target_label"]
        shape = (event.object_type == "team") if object_team else (event.object_type != "team")
        shape &= target_is_team if target_team else ~target_is_team
        part = shape & _fts5_probe("{" + " ".join(columns) + "} : ", included, excluded)
        condition = part if condition is None else (condition | part)
    return condition


def _fts5_probe(columns, included, excluded):
    wanted = " AND ".join(_fts5_phrase(words, term) for words, term in included)
    unwanted = " OR ".join(_fts5_phrase(words, term) for words, term in excluded)
    if wanted:
        expression = f"{columns}({wanted})"
        if unwanted:
            expression += f" NOT {columns}({unwanted})"
        return _probe(expression)
    return ~_probe(f"{columns}({unwanted})")


def _probe(expression):
    """Return "the index finds ``expression`` in this event's row" (a seek to its row id)."""
    return peewee.NodeList(
        (
            peewee.SQL(
                f"EXISTS (SELECT 1 FROM {INDEX.name} WHERE {INDEX.name} MATCH ? AND rowid =",
                [expression],
            ),
            ActivityEvent.id,
            peewee.SQL(")"),
        )
    )


def _checked_match(included, excluded):
    """SQLite, an event the index does not hold yet: its name-free fields checked on the row
    itself, as ``_fts5_match`` finds them in the index."""
    event = ActivityEvent
    object_label = peewee.Case(None, [(event.object_type == "team", "")], event.object_label)
    target_is_team = peewee.fn.COALESCE(event.target_type, "") == "team"
    target_label = peewee.Case(None, [(target_is_team, "")], event.target_label)
    fields = [event._meta.columns[column] for column in ALWAYS_SEARCHED]
    return checked_on_row(included + excluded, [*fields, object_label, target_label])


def _fts5_phrase(words, term):
    # Letters and digits only: a double-quoted FTS5 string holds them safely.
    return '"' + " ".join(words) + '"' + ("" if term.phrase else "*")


def _tsquery_match(included, excluded):
    """PostgreSQL: the event's name-free fields as a vector (the index's, column by column,
    with a team's labels left empty), matched against the words."""
    columns = (
        *ALWAYS_SEARCHED,
        "CASE WHEN object_type = 'team' THEN '' ELSE object_label END",
        "CASE WHEN COALESCE(target_type, '') = 'team' THEN '' ELSE target_label END",
    )
    vector = " || 'FIELD:1'::tsvector || ".join(
        f"to_tsvector('simple', regexp_replace(COALESCE({c}, ''), '[^[:alnum:]]+', ' ', 'g'))"
        for c in columns
    )
    condition = None
    if included:
        wanted = " & ".join(_tsquery_phrase(words, term) for words, term in included)
        condition = peewee.SQL(f"({vector}) @@ to_tsquery('simple', %s)", [wanted])
    if excluded:
        unwanted = " | ".join(_tsquery_phrase(words, term) for words, term in excluded)
        refused = peewee.SQL(f"NOT (({vector}) @@ to_tsquery('simple', %s))", [unwanted])
        condition = refused if condition is None else (condition & refused)
    return condition


def _tsquery_phrase(words, term):
    parts = [f"'{word}'" for word in words]
    if not term.phrase:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"
