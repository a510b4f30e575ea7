"""One search language for every list tab: free words, "quoted phrases" and ``key:value``
qualifiers in one box, read by one small hand-written parser (no ``eval``, no regex engine
fed with user text).

    actor:dana action:deleted created:>2026-11-01 -type:document "q3 report" acm

- A free word matches rows with a word starting with it (``acm`` finds Acme); a quoted
  phrase matches those words in that order, whole. Every word must match (AND).
- ``key:value`` narrows by a field the tab declares; values of one key combine with OR,
  different keys with AND. ``-key:value`` and ``-word`` exclude. Quotes keep spaces in a value
  (``actor:"Dana Scully"``); ``\\"`` is a quote inside quotes.
- ``created:`` takes a day (``2026-11-01``), ``>``, ``<``, ``>=``, ``<=`` a day, or a range
  ``a..b`` (either side ``*`` for open), in the viewer's time zone.

``parse`` never raises: a malformed term (an unknown key, an empty value, a bad date) is left
out and named in ``Search.error``, so a tab shows the message under the box and keeps the
rows of the rest.
"""

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

MAX_QUERY = 500  # characters: a search box, not a document
MAX_TERMS = 24  # each term is a condition in SQL: keep a query's plan small
DATE_KEY = "created"
# Words as both indexes cut them: runs of letters and digits (underscore and punctuation split).
WORD = re.compile(r"[^\W_]+")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CUT_TERM = re.compile(r"\S+$")


class SearchError(ValueError):
    """A term of a search that cannot be read; ``key`` names its qualifier (or ``q``)."""

    def __init__(self, key, message):
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class Term:
    """One term of a search: a free word or phrase (``key`` empty) or a ``key:value``."""

    key: str = ""
    value: str = ""
    negated: bool = False
    phrase: bool = False  # a quoted free phrase: its words whole and in order

    def text(self):
        """Return the term as it is typed, quoted where it must be."""
        sign = "-" if self.negated else ""
        if self.key:
            return f"{sign}{self.key}:{quoted(self.value)}"
        if self.phrase:
            return f"{sign}{quoted(self.value, always=True)}"
        return f"{sign}{quoted(self.value)}"


def quoted(value, always=False):
    """Return ``value`` as a search term reads it: bare when it can be, else in quotes."""
    bare = value and not any(c.isspace() or c in '"\\' for c in value)
    # A colon after letters would read as a qualifier ("10:30" would not; nor would "re:",
    # a word ending in one).
    before, colon, after = value.partition(":")
    bare = bare and not (colon and after and before.isascii() and before.isalpha())
    if bare and not always and not value.startswith("-"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Search:
    """A parsed search: its terms in order, and what was refused: every refusal (``errors``,
    ``SearchError``s, each naming its qualifier) and the first one's message and key."""

    terms: list = field(default_factory=list)
    error: str = None
    error_key: str = None
    errors: list = field(default_factory=list)

    def values(self, key, negated=False):
        """Return the values given to ``key`` (or, ``negated``, excluded with ``-key:``)."""
        return [t.value for t in self.terms if t.key == key and t.negated == negated]

    def has(self, key):
        """Tell whether any term (included or excluded) uses ``key``."""
        return any(t.key == key for t in self.terms)

    @property
    def text_terms(self):
        """Return the free words and phrases (included and excluded)."""
        return [t for t in self.terms if not t.key]

    def text(self):
        """Return the search as it is typed, each term normalised (one space between)."""
        return " ".join(t.text() for t in self.terms)

    def __bool__(self):
        return bool(self.terms)


def parse(text, keys=None):
    """Return the ``Search`` of ``text`` for a tab whose qualifiers are ``keys``.

    Never raises: a term that cannot be read is left out, and ``errors`` names each one
    (``error`` the first). An unknown key with no value (``Re: hello``) is a free word, as a
    person meant it. ``keys=None`` reads every ``key:value`` as typed, checking no key and no
    value: how ``core.listing.feed`` cuts a search into terms that the tab then checks one by one.
    """
    text = "".join(" " if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text or "")
    search = Search()
    if len(text) > MAX_QUERY:
        message = f"the search is {len(text):,} characters long; at most {MAX_QUERY}"
        _refuse(search, SearchError("q", message))
        cut = text[:MAX_QUERY]
        # The term the limit falls in is left out whole: cut, it would ask for something else.
        text = cut if text[MAX_QUERY].isspace() else CUT_TERM.sub("", cut)
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        term, position = _read_term(text, position)
        if term is None:
            continue
        if isinstance(term, SearchError):
            _refuse(search, term)
            continue
        if len(search.terms) >= MAX_TERMS:
            _refuse(search, SearchError("q", f"at most {MAX_TERMS} terms in one search"))
            break
        if keys is None and term.key and not term.value:
            term = Term(value=f"{term.key}:", negated=term.negated)  # as typed; the tab decides
        elif keys is not None:
            try:
                term = _checked(term, keys)
            except SearchError as error:
                _refuse(search, error)
                continue
        search.terms.append(term)
    return search


def _checked(term, keys):
    """Return ``term`` as a tab of qualifiers ``keys`` reads it (an unknown key with no value:
    a word); raise ``SearchError`` when the tab cannot use it."""
    if term.key and not term.value and term.key not in keys:
        return Term(value=f"{term.key}:", negated=term.negated)  # "Re: hello": a word
    if term.key and term.key not in keys:
        raise SearchError(term.key, f"not a filter here; use {_listed(keys)}")
    if term.key and not term.value:
        raise SearchError(term.key, f"expected a value after {term.key}:")
    if term.key == DATE_KEY:
        created_range(term)
    return term


def within_limits(terms):
    """Return the first of ``terms`` that a search can hold: at most ``MAX_TERMS``, written in
    at most ``MAX_QUERY`` characters (quoting can make a term longer than it was typed)."""
    kept = list(terms[:MAX_TERMS])
    while kept and len(Search(kept).text()) > MAX_QUERY:
        kept.pop()
    return kept


def _refuse(search, error):
    search.errors.append(error)
    if search.error is None:
        search.error, search.error_key = str(error), error.key


def _listed(keys):
    return ", ".join(f"{key}:" for key in keys)


def _read_term(text, position):
    """Return ``(term, next position)``: a ``Term``, a ``SearchError``, or None (nothing)."""
    negated = False
    if text[position] == "-":
        negated = True
        position += 1
        if position >= len(text) or text[position].isspace():
            return None, position  # a lone dash
    if text[position] == '"':
        value, position = _read_quoted(text, position)
        term = Term(value=value, negated=negated, phrase=True) if value.strip() else None
        return term, position
    start = position
    while position < len(text) and (text[position].isascii() and text[position].isalpha()):
        position += 1
    key = text[start:position].lower()
    if key and position < len(text) and text[position] == ":":
        position += 1
        if position < len(text) and text[position] == '"':
            value, position = _read_quoted(text, position)
            return Term(key=key, value=value.strip(), negated=negated), position
        end = _word_end(text, position)
        return Term(key=key, value=text[position:end], negated=negated), end
    end = _word_end(text, start)
    return Term(value=text[start:end], negated=negated), end


def _read_quoted(text, position):
    """Read a quoted value from the quote at ``position``; an unclosed one runs to the end."""
    position += 1
    chars = []
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text) and text[position + 1] in '"\\':
            chars.append(text[position + 1])
            position += 2
            continue
        if char == '"':
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    return "".join(chars), position


def _word_end(text, position):
    while position < len(text) and not text[position].isspace():
        position += 1
    return position


# Dates -----------------------------------------------------------------------------------------


def created_range(term):
    """Return ``(first day, last day)`` of a ``created:`` term (either may be None: open).

    ``>d`` starts the day after ``d``, ``<d`` ends the day before; ``a..b`` includes both.
    """
    if term.negated:
        raise SearchError(DATE_KEY, "cannot be excluded; use created:< or created:> instead")
    value = term.value
    for sign in (">=", "<=", ">", "<"):
        if value.startswith(sign):
            day = _day(value[len(sign) :])
            return {
                ">=": (day, None),
                "<=": (None, day),
                ">": (day + timedelta(days=1), None),
                "<": (None, day - timedelta(days=1)),
            }[sign]
    if ".." in value:
        first, _, last = value.partition("..")
        start = None if first in ("", "*") else _day(first)
        end = None if last in ("", "*") else _day(last)
        if start and end and start > end:
            raise SearchError(DATE_KEY, f"the range {value} starts after it ends")
        return start, end
    day = _day(value)
    return day, day


def _day(text):
    if DAY.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            # The far end overflows once shifted to a time zone (as To is refused).
            if day.year > 9000:
                raise SearchError(DATE_KEY, f"{text} is out of range (years up to 9000)")
            return day
    shown = text[:40]
    raise SearchError(DATE_KEY, f"expected a day like 2026-11-01 (or >, <, a..b), got {shown!r}")


def days_of(search, date_from=None, date_to=None):
    """Return the days every ``created:`` term of ``search`` and the given bounds allow:
    ``(first, last)``, the intersection (either may be None)."""
    for term in search.terms:
        if term.key != DATE_KEY:
            continue
        start, end = created_range(term)
        if start and (date_from is None or start > date_from):
            date_from = start
        if end and (date_to is None or end < date_to):
            date_to = end
    return date_from, date_to


def created_text(date_from, date_to):
    """Return the ``created:`` term of a day range ("" for none), as the box shows it."""
    if date_from and date_to:
        return f"created:{date_from}" if date_from == date_to else f"created:{date_from}..{date_to}"
    if date_from:
        return f"created:>={date_from}"
    if date_to:
        return f"created:<={date_to}"
    return ""


def created_terms(date_from, date_to):
    """Return the ``created:`` term of a day range as a list (empty for none), for a tab that
    shows its URL's dates in the box."""
    text = created_text(date_from, date_to)
    return [Term("created", text.partition(":")[2])] if text else []
