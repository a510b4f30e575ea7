"""Actions taken together read as one: a run of rows from one request by one actor ("Dana
Scully completed 4 tasks") is printed as a group that opens to its parts.

Only rows next to each other on one page are grouped, so a group never hides a row the page
does not show, nor moves one out of time order. A list limited to one request (``request:``)
shows its parts as they are.
"""

from typing import NamedTuple

from markupsafe import escape

from core.events.changes import as_words
from core.templating import actor_markup
from plugins.activity.describe import action_phrase

# Fewer rows read as well one by one: an edit and its comment stay two rows.
GROUP_AT_LEAST = 3


class Group(NamedTuple):
    """A run of rows printed as one: its sentence, how many rows, its first row."""

    sentence: object
    size: int
    first: object


class Item(NamedTuple):
    """One entry of the list: a row, or where a group opens or closes (the others None).

    Attributes, not a dict's keys: the template reads each of them for every row, and Jinja
    tries an attribute before a key (a failed attribute costs an exception)."""

    row: object = None
    open: Group = None
    close: Group = None


def in_groups(rows, filters=None):
    """Return the list's items (``Item``) for ``rows`` (``prepare_rows``' rows), flat, so the
    template prints a row's markup in one place: ``Item(row)`` for each row, a run of at least
    ``GROUP_AT_LEAST`` rows of one request and one actor between ``Item(open=group)`` and
    ``Item(close=group)`` (``group``: a ``Group``)."""
    if filters is not None and filters.requests:
        return [Item(row) for row in rows]
    items, run = [], []
    for row in rows:
        if run and not _together(run[-1].event, row.event):
            items.extend(_as_items(run))
            run = []
        run.append(row)
    items.extend(_as_items(run))
    return items


def _together(one, other):
    """Tell whether two events were recorded by one request of one actor."""
    return (
        one.request_id is not None
        and one.request_id == other.request_id
        and (one.actor_id, one.actor_name) == (other.actor_id, other.actor_name)
    )


def _as_items(run):
    rows = [Item(row) for row in run]
    if len(run) < GROUP_AT_LEAST:
        return rows
    group = Group(group_sentence([row.event for row in run]), len(run), run[0])
    return [Item(open=group), *rows, Item(close=group)]


def group_sentence(events):
    """Return "<strong>Dana Scully</strong> completed 4 tasks" for ``events`` of one actor:
    each action with how many objects of each type, in the order the rows show them."""
    by_phrase = {}
    for event in events:
        kinds = by_phrase.setdefault(action_phrase(event.action), {})
        kinds[event.object_type] = kinds.get(event.object_type, 0) + 1
    parts = [
        f"{phrase} {joined([counted(n, kind) for kind, n in kinds.items()])}"
        for phrase, kinds in by_phrase.items()
    ]
    return actor_markup(events[0]) + " " + escape(joined(parts))


def counted(number, kind):
    """Return "4 tasks", "1 company" for ``number`` objects of type ``kind``."""
    noun = as_words(kind).lower()
    return f"{number} {noun if number == 1 else plural(noun)}"


def plural(noun):
    """Return the plural of an English ``noun`` as types are named (``company`` → ``companies``)."""
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def joined(parts):
    """Return ``parts`` as a sentence lists them: "a, b and c"."""
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"
