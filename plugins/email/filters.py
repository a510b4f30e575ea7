"""The Email tab's filters, read from the URL: a malformed one is a 400 naming it."""

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.inputs import parse_day_range
from core.inputs import parse_id
from plugins.email.models import STATUSES

FILTER_KEYS = ("recipient", "sender", "kind", "status", "from", "to", "q")


@dataclass
class Filters:
    """The Email tab's filters, as read from the URL."""

    recipients: list = field(default_factory=list)
    senders: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    date_from: date = None
    date_to: date = None
    text: str = ""

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (self.recipients, self.senders, self.kinds, self.statuses, self.date_from,
             self.date_to, self.text)
        )  # fmt: skip


def parse_filters(args):
    """Read filters from request ``args``; a malformed one is a 400 naming the parameter."""
    date_from, date_to = parse_day_range(args)
    statuses = [value for value in args.getlist("status") if value]
    for status in statuses:
        if status not in STATUSES:
            abort(400, f"status: expected one of {', '.join(STATUSES)}, got {status[:40]!r}")
    kinds = [value for value in args.getlist("kind") if value]
    for kind in kinds:
        if len(kind) > 64:
            abort(400, "kind: at most 64 characters")
    return Filters(
        recipients=[parse_id(value, "recipient") for value in args.getlist("recipient") if value],
        senders=[parse_id(value, "sender") for value in args.getlist("sender") if value],
        kinds=kinds,
        statuses=statuses,
        date_from=date_from,
        date_to=date_to,
        text=args.get("q", "").strip()[:200],
    )
