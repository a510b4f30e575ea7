"""The Activity tab's filters, read from the URL: a malformed one is a 400 naming it."""

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.inputs import parse_id


@dataclass
class Filters:
    """The Activity tab's filters, as read from the URL."""

    actors: list = field(default_factory=list)
    verbs: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    types: list = field(default_factory=list)
    object: tuple = None  # (type, id): one object's history
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


def parse_filters(args):
    """Read filters from request ``args``; a malformed one is a 400 naming the parameter."""
    filters = Filters(
        actors=[parse_id(value, "actor") for value in args.getlist("actor") if value],
        verbs=[value for value in args.getlist("verb") if value],
        actions=[value for value in args.getlist("action") if value],
        types=[value for value in args.getlist("type") if value],
        team=parse_id(args["team"], "team") if args.get("team") else None,
        date_from=_date(args.get("from"), "from"),
        date_to=_date(args.get("to"), "to"),
        text=args.get("q", "").strip()[:200],
    )
    if args.get("object"):
        kind, _, object_id = args["object"].partition(":")
        if not kind or not object_id:
            abort(400, "object: expected <type>:<id>, e.g. task:12")
        filters.object = (kind, object_id)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        abort(400, "from: the start date is after the end date")
    return filters


def parse_cursor(args):
    """Return the ``after`` cursor (an event id) or None; a malformed one is a 400."""
    return parse_id(args["after"], "after") if args.get("after") else None


def _date(value, name):
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}: expected a date like 2026-01-31, got {value[:40]!r}")
    if not 1900 <= day.year <= 9000:  # far ends overflow once shifted to a time zone
        abort(400, f"{name}: {value} is out of range (years 1900 to 9000)")
    return day
