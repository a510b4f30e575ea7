"""The Logins tab's filters, read from the URL: the search box (``q``, in the search language of
``core.search``: ``user:``, ``outcome:``, ``ip:``, ``country:``, ``created:`` and free words)
and the filter bar's parameters, two views of one state.

A malformed parameter is a 400 naming it; a search term that cannot be used is a
``core.feed.SearchRefused`` naming its qualifier; a name that matches nobody is an empty list
with a hint.
"""

import ipaddress
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
from core.signins import OUTCOMES

FILTER_KEYS = ("user", "outcome", "ip", "country", "from", "to", "q")
QUALIFIERS = ("user", "outcome", "ip", "country", "created")


@dataclass
class Filters:
    """The Logins tab's filters: the URL's parameters and the search's terms together."""

    users: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    ips: list = field(default_factory=list)
    countries: list = field(default_factory=list)
    date_from: date = None
    date_to: date = None
    not_users: list = field(default_factory=list)
    not_outcomes: list = field(default_factory=list)
    not_ips: list = field(default_factory=list)
    not_countries: list = field(default_factory=list)
    words: list = field(default_factory=list)  # free words and phrases (``core.search.Term``)
    nothing: bool = False  # a term named nobody: no row can match
    hints: list = field(default_factory=list)
    query: str = ""  # the search box: the whole state as the language writes it
    user_name: str = ""  # filled by the view for the caption: whose history this is

    @property
    def text(self):
        """Return the search box's text."""
        return self.query

    @property
    def ip(self):
        """Return the one IP filtered on, for the filter bar's field ("" for none or several)."""
        return _one(self.ips, self.not_ips)

    @property
    def country(self):
        """Return the one country filtered on, for the filter bar ("" for none or several)."""
        return _one(self.countries, self.not_countries)

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (self.users, self.outcomes, self.ips, self.countries, self.date_from, self.date_to,
             self.not_users, self.not_outcomes, self.not_ips, self.not_countries, self.words,
             self.nothing)
        )  # fmt: skip

    @property
    def caption(self):
        """Return what the list shows beside its total: whose history it is, if one user's."""
        if len(self.users) == 1 and self.user_name:
            return f"sign-in history of {self.user_name}"
        return ""

    def controls(self):
        """Return what each control shows: a value when the state has exactly one, else any."""
        return {
            "user": _one(self.users, self.not_users),
            "outcome": _one(self.outcomes, self.not_outcomes),
            "ip": self.ip,
            "country": self.country,
            "from": str(self.date_from or ""),
            "to": str(self.date_to or ""),
        }


def _one(values, excluded):
    return str(values[0]) if len(set(values)) == 1 and not excluded else ""


def _ip(value):
    """Return ``value`` as an IP address is stored, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _country(value):
    """Return ``value`` as a country is stored (``DE``, ``private``), or None when it is not."""
    value = value.strip()
    if not (value.isascii() and value.isalpha() and len(value) <= 16):
        return None
    return value.upper() if len(value) == 2 else value.lower()


def parse_filters(args, viewer=None):
    """Read filters from request ``args``: the parameters (a malformed one is a 400 naming
    it), then the search box's terms (``SearchRefused`` naming a bad one)."""
    date_from, date_to = parse_day_range(args)
    outcomes = [value for value in args.getlist("outcome") if value]
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            abort(400, f"outcome: {outcome[:40]!r} is not one of {', '.join(OUTCOMES)}")
    filters = Filters(
        users=[parse_id(value, "user") for value in args.getlist("user") if value],
        outcomes=outcomes,
    )
    raw_ip = args.get("ip", "").strip()
    if raw_ip:
        filters.ips.append(_ip(raw_ip) or abort(400, f"ip: {raw_ip[:45]!r} is not an IP "
                                                      "address, e.g. 203.0.113.7"))  # fmt: skip
    raw_country = args.get("country", "").strip()
    if raw_country:
        country = _country(raw_country)
        if country is None:
            abort(400, "country: expected a country code like DE, or private, "
                       f"got {raw_country[:20]!r}")  # fmt: skip
        filters.countries.append(country)
    search = parse(args.get("q", ""), QUALIFIERS)
    refuse_parse_error(search)
    legacy = _as_terms(filters, date_from, date_to)
    _apply(filters, search)
    filters.date_from, filters.date_to = days_of(search, date_from, date_to)
    filters.query = Search(search.terms + legacy).text()
    return filters


def _as_terms(filters, date_from, date_to):
    """Return the URL's parameters as search terms, so the box shows the whole state."""
    terms = []
    if filters.users:
        names = dict(User.select(User.id, User.name).where(User.id.in_(filters.users)).tuples())
        terms += [Term("user", names[i]) for i in filters.users if i in names]
    terms += [Term("outcome", outcome) for outcome in filters.outcomes]
    terms += [Term("ip", ip) for ip in filters.ips]
    terms += [Term("country", country) for country in filters.countries]
    return terms + created_terms(date_from, date_to)


def _apply(filters, search):
    """Add the search's terms to ``filters``; a term that cannot be used is refused."""
    people = PeopleNamed()
    for term in search.terms:
        key, value, negated = term.key, term.value, term.negated
        if key == "user":
            (filters.not_users if negated else filters.users).extend(people.ids(filters, term))
        elif key == "outcome":
            outcome = "_".join(value.lower().split())
            if outcome not in OUTCOMES:
                refuse(search, term, f"expected one of {', '.join(OUTCOMES)}, got {value[:40]!r}")
            (filters.not_outcomes if negated else filters.outcomes).append(outcome)
        elif key == "ip":
            ip = _ip(value)
            if ip is None:
                refuse(search, term, f"{value[:45]!r} is not an IP address, e.g. 203.0.113.7")
            (filters.not_ips if negated else filters.ips).append(ip)
        elif key == "country":
            country = _country(value)
            if country is None:
                refuse(search, term, f"expected a country code like DE, got {value[:20]!r}")
            (filters.not_countries if negated else filters.countries).append(country)
        elif not key:
            filters.words.append(term)
