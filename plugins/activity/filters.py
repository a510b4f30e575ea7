"""The Activity tab's filters, read from the URL: a malformed one is a 400 naming it."""

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.events import ActivityEvent
from core.inputs import parse_day_range
from core.inputs import parse_id
from plugins.activity.describe import ACTIONS_BY_PHRASE
from plugins.activity.describe import action_phrase
from plugins.activity.describe import as_words

FILTER_KEYS = ("actor", "verb", "action", "type", "object", "team", "from", "to", "q")


@dataclass
class Filters:
    """The Activity tab's filters, as read from the URL."""

    actors: list = field(default_factory=list)
    verbs: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    types: list = field(default_factory=list)
    object: tuple = None  # (type, id): one object's history
    object_label: str = ""  # its name, as the newest event about it copied it
    team: int = None
    date_from: date = None
    date_to: date = None
    text: str = ""

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (self.actors, self.verbs, self.actions, self.types, self.object, self.team,
             self.date_from, self.date_to, self.text)
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


def parse_filters(args):
    """Read filters from request ``args``; a malformed one is a 400 naming the parameter."""
    date_from, date_to = parse_day_range(args)
    filters = Filters(
        actors=[parse_id(value, "actor") for value in args.getlist("actor") if value],
        verbs=[value for value in args.getlist("verb") if value],
        actions=[ACTIONS_BY_PHRASE.get(value, value) for value in args.getlist("action") if value],
        types=[value for value in args.getlist("type") if value],
        team=parse_id(args["team"], "team") if args.get("team") else None,
        date_from=date_from,
        date_to=date_to,
        text=args.get("q", "").strip()[:200],
    )
    if args.get("object"):
        kind, _, object_id = args["object"].partition(":")
        if not kind or not object_id:
            abort(400, "object: expected <type>:<id>, e.g. task:12")
        filters.object = (kind, object_id)
        filters.object_label = object_label(kind, object_id)
    return filters


def object_label(kind, object_id):
    """Return the name the newest event about an object gave it ("" when there is none)."""
    newest = (
        ActivityEvent.select(ActivityEvent.object_label)
        .where((ActivityEvent.object_type == kind) & (ActivityEvent.object_id == object_id))
        .order_by(ActivityEvent.id.desc())
        .first()
    )
    return newest.object_label if newest else ""
