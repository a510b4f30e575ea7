"""Filters declared once: a list tab names its qualifiers, and one ``FilterSet`` reads them.

Each qualifier says its key in the search box (``actor:``), its URL parameter (``actor=``),
its column, how a value is normalised and checked, its choices and whether a row without the
field survives ``-key:value``. The ``FilterSet`` of a tab reads the URL's parameters and the
search box together into one ``Filters``: every refusal is collected (``errors``, by field),
the parts that were fine still apply, the box's text (``query``) holds the whole state and
``controls()`` what each control of the filter bar shows. ``FilterSet.where`` applies the
declared columns in SQL; the tab's query adds its scope, its index and its special cases.

    FILTERS = FilterSet(
        Person("owner", "owners", column=Invoice.owner_id),
        Qualifier("status", "statuses", column=Invoice.status, choices=STATUSES),
        days=Invoice.issued_at,
    )
"""

from datetime import date

import peewee
from flask import abort
from werkzeug.datastructures import MultiDict

from core.inputs import MAX_ID
from core.inputs import is_id
from core.search.language import DATE_KEY
from core.search.language import MAX_QUERY
from core.search.language import MAX_TERMS
from core.search.language import Search
from core.search.language import SearchError
from core.search.language import Term
from core.search.language import created_range
from core.search.language import created_terms
from core.search.language import days_of
from core.search.language import parse
from core.search.language import within_limits
from core.search.names import PeopleNamed
from core.search.names import matching_names

DAY_PARAMS = ("from", "to")


def folded(value):
    """Return ``value`` as a stored key reads it: lower case, spaces as ``_`` (``Sign in``)."""
    return "_".join(value.lower().split())


def lowered(value):
    """Return ``value`` in lower case."""
    return value.lower()


def as_given(value):
    """Return ``value`` unchanged."""
    return value


def one(values, excluded):
    """Return what a control shows for ``values``: the value when there is exactly one and
    nothing is excluded, else "" (any)."""
    return str(values[0]) if len(set(values)) == 1 and not excluded else ""


class Qualifier:
    """One ``key:value`` filter of a tab, in the box and (``param``) in the URL.

    ``name`` is the attribute holding the chosen values (``filters.statuses``; the excluded
    ones ``filters.not_statuses``). A box value becomes ``normal(value)``, a URL value
    ``param_normal(value)`` (by default as given); None, or a value not among ``choices``, is
    refused with ``refusal`` (``param_refusal`` for the URL), formatted with ``{got}`` (the
    value, cut at ``cut`` characters) and ``{choices}``. ``column`` is compared with IN and
    NOT IN by ``FilterSet.where``; with ``nulls_pass`` a row without the field is not excluded
    by ``-key:value``. ``param`` defaults to the key (None: the box alone); ``control`` names
    the filter bar's control (default: ``param``; None: none); ``shown`` writes a stored value
    as the box and the control show it. ``groups`` maps a word a person would type to the
    stored values it means (``outcome:failed`` → every failure), in the box and the URL.
    ``condition(values)``, when a value is not one column's (``verb:edited``: every kind of
    edit), returns the SQL condition "the row is one of ``values``"; exclusions are its
    negation.
    """

    param = ""
    column = None
    condition = None
    normal = staticmethod(as_given)
    param_normal = staticmethod(as_given)
    choices = ()
    refusal = "expected one of {choices}, got {got}"
    param_refusal = None
    cut = 40
    nulls_pass = False
    control = ""
    shown = staticmethod(str)
    groups = {}

    def __init__(self, key, name, **options):
        self.key, self.name = key, name
        for option, value in options.items():
            if not hasattr(type(self), option):
                raise TypeError(f"{type(self).__name__} has no option {option!r}")
            setattr(self, option, value)
        if self.param == "":
            self.param = key
        if self.control == "":
            self.control = self.param

    def refused(self, viewer):
        """Return why ``viewer`` may not use this qualifier at all, or None."""
        return None

    def _refusal(self, template, value):
        choices = ", ".join([*self.choices, *self.groups])
        return template.format(got=repr(value[: self.cut]), choices=choices)

    def _accepts(self, value):
        return value is not None and (
            not self.choices or value in self.choices or value in self.groups
        )

    def expanded(self, value):
        """Return the stored values ``value`` means: its group's, or itself."""
        return list(self.groups.get(value, (value,)))

    def from_param(self, raw):
        """Return ``(value, refusal)`` for one URL value (a group word stays a word)."""
        value = self.param_normal(raw)
        if not self._accepts(value):
            return None, self._refusal(self.param_refusal or self.refusal, raw)
        return value, None

    def check_term(self, term):
        """Return why the box's ``term`` is refused, or None."""
        if not self._accepts(self.normal(term.value)):
            return self._refusal(self.refusal, term.value)
        return None

    def apply_term(self, term, filters):
        """Add the (checked) box ``term`` to ``filters``."""
        filters.add(self, self.expanded(self.normal(term.value)), term.negated)

    def param_terms(self, values):
        """Return URL ``values`` as the box writes them, so the box shows the whole state."""
        return [Term(self.key, self.shown(value)) for value in values]

    def control_value(self, filters):
        """Return what this qualifier's control shows for ``filters`` (a group's word when
        its values are exactly the group's)."""
        chosen = filters.values[self.key]
        for word, members in self.groups.items():
            if chosen and set(chosen) == set(members) and not filters.excluded[self.key]:
                return word
        values = [self.shown(value) for value in chosen]
        return one(values, filters.excluded[self.key])

    def where(self, query, filters):
        """Return ``query`` limited by this qualifier's values (IN) and exclusions (NOT IN), or
        by its ``condition`` and its negation."""
        wanted, unwanted = filters.values[self.key], filters.excluded[self.key]
        if self.condition is not None:
            if wanted:
                query = query.where(self.condition(wanted))
            if unwanted:
                query = query.where(~self.condition(unwanted))
            return query
        if self.column is None:
            return query
        if wanted:
            query = query.where(self.column.in_(wanted))
        if unwanted:
            excluded = self.column.not_in(unwanted)
            query = query.where(self.column.is_null() | excluded if self.nulls_pass else excluded)
        return query


class Named(Qualifier):
    """A qualifier naming records of ``model`` (``team:Sales``): the URL gives their ids, the
    box a name, matched as ``core.search.names.matching_names`` does; a name matching none empties
    the list with a hint. ``visible(viewer)`` False refuses it with ``hidden``."""

    model = None
    noun = "record"
    visible = None
    hidden = ""

    def refused(self, viewer):
        """Return ``hidden`` when ``viewer`` may not use this qualifier, else None."""
        if viewer is not None and self.visible is not None and not self.visible(viewer):
            return self.hidden
        return None

    def from_param(self, raw):
        """Return ``(id, refusal)`` for one URL value."""
        if not is_id(raw):
            return None, f"expected a whole number from 1 to {MAX_ID - 1}, got {raw[:40]!r}"
        return int(raw), None

    def check_term(self, term):
        """A name is never refused: one that names no one is an empty list with a hint."""
        return None

    def ids(self, filters, term):
        """Return the ids ``term``'s value names; none, and not an exclusion: nothing matches."""
        rows = list(self.model.select(self.model.id, self.model.name).tuples())
        found = matching_names(term.value, rows)
        if not found and not term.negated:
            filters.nothing = True
            filters.hints.append(f"No {self.noun} is named “{term.value}”.")
        return found

    def apply_term(self, term, filters):
        """Add the ids the box's ``term`` names to ``filters``."""
        filters.add(self, self.ids(filters, term), term.negated)

    def param_terms(self, values):
        """Return URL ids as the box writes them: by name (an id naming nothing is left out)."""
        model = self.model
        names = dict(model.select(model.id, model.name).where(model.id.in_(values)).tuples())
        return [Term(self.key, names[i]) for i in values if i in names]


class Person(Named):
    """A qualifier naming people (``actor:dana``): a whole or partial name, or an email; the
    platform's people are read once per request, whichever person qualifiers a search has."""

    noun = "one"

    @property
    def model(self):
        """Return the platform's people (read late: ``core.people`` imports this module)."""
        from core.people import User

        return User

    def ids(self, filters, term):
        """Return the ids of the people ``term`` names (``core.search.names.PeopleNamed``)."""
        return filters.people.ids(filters, term)


class Filters:
    """One request's filters as a ``FilterSet`` read them: each qualifier's values (by its
    ``name``) and exclusions (``not_<name>``), the days, the free words, and what was refused."""

    caption = ""

    def __init__(self, filter_set, viewer):
        self.filter_set = filter_set
        self.viewer = viewer
        self.values = {q.key: [] for q in filter_set.qualifiers}
        self.excluded = {q.key: [] for q in filter_set.qualifiers}
        self.words = []  # the free words and phrases (``core.search.language.Term``)
        self.date_from = self.date_to = None
        self.nothing = False  # a term named nobody: no row can match
        self.hints = []
        self.errors = {}  # field → its refusals' messages, each naming it
        self.query = ""  # the search box: the whole state as the language writes it
        self.kept = MultiDict()  # the query string without the refused parts
        self.people = PeopleNamed()

    def __getattr__(self, name):
        named = self.__dict__.get("filter_set") and self.filter_set.named
        if named and name in named:
            return self.values[named[name]]
        if named and name.startswith("not_") and name[4:] in named:
            return self.excluded[named[name[4:]]]
        raise AttributeError(name)

    @property
    def text(self):
        """Return the search box's text."""
        return self.query

    @property
    def refusal(self):
        """Return every refusal's message in one line, or None when all was fine."""
        messages = [message for messages in self.errors.values() for message in messages]
        return "; ".join(dict.fromkeys(messages)) or None

    def refuse(self, field, message):
        """Collect ``message`` (which names ``field``) as a refusal of ``field``."""
        self.errors.setdefault(field, []).append(message)

    def add(self, qualifier, values, negated=False):
        """Add ``values`` to ``qualifier``'s chosen (or, ``negated``, excluded) values."""
        (self.excluded if negated else self.values)[qualifier.key].extend(values)

    def active(self):
        """Tell whether any filter is set."""
        chosen = any(self.values.values()) or any(self.excluded.values())
        return chosen or bool(self.words or self.date_from or self.date_to or self.nothing)

    def controls(self):
        """Return what each control shows: a value when the state has exactly one, else any."""
        shown = {q.control: q.control_value(self) for q in self.filter_set.qualifiers if q.control}
        if self.filter_set.days is not None:
            shown.update({"from": str(self.date_from or ""), "to": str(self.date_to or "")})
        return shown


class FilterSet:
    """A tab's qualifiers, declared once: reads them from the URL and the box (``read``),
    applies them in SQL (``where``). ``days`` is the column (a UTC time) that the ``from`` and
    ``to`` parameters and ``created:`` bound; ``words`` the ``core.search.index.TextIndex`` the free
    words are looked for in (the tab's query decides how it drives the query); ``filters`` the
    ``Filters`` class to fill."""

    def __init__(self, *qualifiers, days=None, words=None, filters=Filters):
        self.qualifiers = qualifiers
        self.days = days
        self.words = words
        self.filters_class = filters
        self.by_key = {q.key: q for q in qualifiers}
        self.named = {q.name: q.key for q in qualifiers}
        self.keys = tuple(self.by_key) + ((DATE_KEY,) if days is not None else ())
        params = tuple(q.param for q in qualifiers if q.param)
        self.params = params + (DAY_PARAMS if days is not None else ()) + ("q",)

    def parse(self, args, viewer=None):
        """Return the filters of ``args``; any refusal is a 400 with every message."""
        filters = self.read(args, viewer)
        if filters.refusal:
            abort(400, filters.refusal)
        return filters

    def read(self, args, viewer=None):
        """Return the filters of ``args`` (the query string) for ``viewer``: never raises.

        Every parameter and every search term is checked once on its own; a refused one is
        named in ``errors`` and left out (a parameter with all its values), the rest applies,
        and ``kept`` is the query string without what was refused.
        """
        filters = self.filters_class(self, viewer)
        dropped, shown = set(), []
        if self.days is not None:
            dropped |= self._read_days(args, filters)
            shown_days = created_terms(filters.date_from, filters.date_to)
        for qualifier in self.qualifiers:
            raws = [raw for raw in args.getlist(qualifier.param) if raw] if qualifier.param else []
            if raws and self._read_param(qualifier, raws, filters):
                shown += qualifier.param_terms(filters.values[qualifier.key])
            elif raws:
                dropped.add(qualifier.param)
        terms = self._read_search(args.get("q", ""), filters)
        if self.days is not None:
            days = days_of(Search(terms), filters.date_from, filters.date_to)
            filters.date_from, filters.date_to = days
            shown += shown_days
        filters.query = Search(terms + shown).text()
        filters.kept = args if not filters.errors else _kept(args, dropped, Search(terms).text())
        return filters

    def _read_days(self, args, filters):
        """Read ``from`` and ``to``; return the parameters refused (both, for a reversed range)."""
        days, refused = {}, set()
        for param in DAY_PARAMS:
            days[param], message = _day(args.get(param))
            if message:
                filters.refuse(param, f"{param}: {message}")
                refused.add(param)
        if days["from"] and days["to"] and days["from"] > days["to"]:
            filters.refuse("from", "from: the start date is after the end date")
            return set(DAY_PARAMS)
        filters.date_from, filters.date_to = days["from"], days["to"]
        return refused

    def _read_param(self, qualifier, raws, filters):
        """Add a URL parameter's values to ``filters``; tell whether none was refused."""
        refusal = qualifier.refused(filters.viewer)
        messages = [refusal] if refusal else []
        values = []
        for raw in raws if not refusal else ():
            value, message = qualifier.from_param(raw)
            (messages if message else values).append(message or value)
        for message in messages:
            filters.refuse(qualifier.param, f"{qualifier.param}: {message}")
        if not messages:
            filters.add(qualifier, [v for value in values for v in qualifier.expanded(value)])
        return not messages

    def _read_search(self, text, filters):
        """Apply the search box's terms that are fine; return them, as the box keeps them."""
        search = parse(text)  # every term as typed: each is checked here, once
        for error in search.errors:
            filters.refuse(error.key, str(error))
        fine = []
        for term in search.terms:
            message = self._term_refusal(term, filters.viewer)
            if message:
                filters.refuse(term.key or "q", message)
            else:
                fine.append(term)
        kept = within_limits(fine)
        if len(kept) < len(fine):
            filters.refuse("q", f"q: at most {MAX_TERMS} terms in {MAX_QUERY} characters")
        for term in kept:
            if term.key in self.by_key:
                self.by_key[term.key].apply_term(term, filters)
            elif not term.key:
                filters.words.append(term)
        return kept

    def _term_refusal(self, term, viewer):
        """Return why the box's ``term`` is refused (its message, naming its key), or None."""
        key = term.key
        if not key:
            # ``parse`` reads ``key:`` with nothing after it as a word: a known key wants one.
            bare = term.value[:-1] if term.value.endswith(":") and not term.phrase else ""
            return f"{bare}: expected a value after {bare}:" if bare in self.keys else None
        if key not in self.keys:
            return f"{key}: not a filter here; use {', '.join(f'{k}:' for k in self.keys)}"
        if key == DATE_KEY:
            try:
                created_range(term)
            except SearchError as error:  # the language's own check of a day range
                return str(error)
            return None
        qualifier = self.by_key[key]
        message = qualifier.refused(viewer) or qualifier.check_term(term)
        return f"{key}: {message}" if message else None

    def where(self, query, filters, viewer):
        """Return ``query`` limited by every declared column and the days (in ``viewer``'s
        zone); a term that named nobody matches no row."""
        from core.listing.sql import in_days  # the list machinery imports this module

        if filters.nothing:
            return query.where(peewee.SQL("1 = 0"))
        for qualifier in self.qualifiers:
            query = qualifier.where(query, filters)
        if self.days is None:
            return query
        return in_days(query, self.days, filters.date_from, filters.date_to, viewer.zone())


def _kept(args, dropped, text):
    """Return ``args`` without the ``dropped`` parameters, the search as ``text``."""
    kept = MultiDict(args)
    for param in dropped:
        kept.poplist(param)
    kept.setlist("q", [text] if text else [])
    return kept


def _day(value):
    """Return ``(day, refusal)`` for a ``from`` or ``to`` value (None, None when empty)."""
    if not value:
        return None, None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None, f"expected a date like 2026-01-31, got {value[:40]!r}"
    if not 1900 <= day.year <= 9000:  # far ends overflow once shifted to a time zone
        return None, f"{value} is out of range (years 1900 to 9000)"
    return day, None
