"""The Email tab's filters, read from the URL: the search box (``q``, in the search language of
``core.search``: ``from:``, ``to:``, ``status:``, ``kind:``, ``created:`` and free words) and
the filter bar's parameters, two views of one state.

A malformed parameter is a 400 naming it; a search term that cannot be used is a
``core.feed.SearchRefused`` naming its qualifier; a name that matches nobody is an empty list
with a hint.
"""

from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.feed import refuse
from core.feed import refuse_parse_error
from core.inputs import parse_day_range
from core.inputs import parse_id
from core.people import User
from core.search import PeopleNamed
from core.search import Search
from core.search import Term
from core.search import created_terms
from core.search import days_of
from core.search import parse
from plugins.email.models import STATUSES

FILTER_KEYS = ("recipient", "sender", "kind", "status", "from", "to", "q")
QUALIFIERS = ("from", "to", "status", "kind", "created")


@dataclass
class Filters:
    """The Email tab's filters: the URL's parameters and the search's terms together."""

    recipients: list = field(default_factory=list)
    senders: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    date_from: date = None
    date_to: date = None
    not_recipients: list = field(default_factory=list)
    not_senders: list = field(default_factory=list)
    not_kinds: list = field(default_factory=list)
    not_statuses: list = field(default_factory=list)
    words: list = field(default_factory=list)  # free words and phrases (``core.search.Term``)
    nothing: bool = False  # a term named nobody: no message can match
    hints: list = field(default_factory=list)
    query: str = ""  # the search box: the whole state as the language writes it

    @property
    def text(self):
        """Return the search box's text."""
        return self.query

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (self.recipients, self.senders, self.kinds, self.statuses, self.date_from,
             self.date_to, self.not_recipients, self.not_senders, self.not_kinds,
             self.not_statuses, self.words, self.nothing)
        )  # fmt: skip

    def controls(self):
        """Return what each control shows: a value when the state has exactly one, else any."""
        return {
            "recipient": _one(self.recipients, self.not_recipients),
            "sender": _one(self.senders, self.not_senders),
            "kind": _one(self.kinds, self.not_kinds),
            "status": _one(self.statuses, self.not_statuses),
            "from": str(self.date_from or ""),
            "to": str(self.date_to or ""),
        }


def _one(values, excluded):
    return str(values[0]) if len(set(values)) == 1 and not excluded else ""


def parse_filters(args, viewer=None):
    """Read filters from request ``args``: the parameters (a malformed one is a 400 naming
    it), then the search box's terms (``SearchRefused`` naming a bad one)."""
    date_from, date_to = parse_day_range(args)
    statuses = [value for value in args.getlist("status") if value]
    for status in statuses:
        if status not in STATUSES:
            abort(400, f"status: expected one of {', '.join(STATUSES)}, got {status[:40]!r}")
    kinds = [value for value in args.getlist("kind") if value]
    for kind in kinds:
        if len(kind) > 64:
            abort(400, "kind: at most 64 characters")
    filters = Filters(
        recipients=[parse_id(value, "recipient") for value in args.getlist("recipient") if value],
        senders=[parse_id(value, "sender") for value in args.getlist("sender") if value],
        kinds=kinds,
        statuses=statuses,
    )
    search = parse(args.get("q", ""), QUALIFIERS)
    refuse_parse_error(search)
    legacy = _as_terms(filters, date_from, date_to)
    _apply(filters, search)
    filters.date_from, filters.date_to = days_of(search, date_from, date_to)
    filters.query = Search(search.terms + legacy).text()
    return filters


def _as_terms(filters, date_from, date_to):
    """Return the URL's parameters as search terms, so the box shows the whole state."""
    ids = set(filters.recipients) | set(filters.senders)
    names = dict(User.select(User.id, User.name).where(User.id.in_(ids)).tuples()) if ids else {}
    terms = [Term("to", names[i]) for i in filters.recipients if i in names]
    terms += [Term("from", names[i]) for i in filters.senders if i in names]
    terms += [Term("kind", kind) for kind in filters.kinds]
    terms += [Term("status", status) for status in filters.statuses]
    return terms + created_terms(date_from, date_to)


def _apply(filters, search):
    """Add the search's terms to ``filters``; a term that cannot be used is refused."""
    people = PeopleNamed()
    for term in search.terms:
        key, value, negated = term.key, term.value, term.negated
        if key in ("from", "to"):
            found = people.ids(filters, term)
            if key == "from":
                (filters.not_senders if negated else filters.senders).extend(found)
            else:
                (filters.not_recipients if negated else filters.recipients).extend(found)
        elif key == "status":
            if value.lower() not in STATUSES:
                refuse(search, term, f"expected one of {', '.join(STATUSES)}, got {value[:40]!r}")
            (filters.not_statuses if negated else filters.statuses).append(value.lower())
        elif key == "kind":
            kind = "_".join(value.lower().split())
            if len(kind) > 64:
                refuse(search, term, "at most 64 characters")
            (filters.not_kinds if negated else filters.kinds).append(kind)
        elif not key:
            filters.words.append(term)
