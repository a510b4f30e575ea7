"""One search language for every list tab: free words, "quoted phrases" and ``key:value``
qualifiers in one box, read by one small hand-written parser (no ``eval``, no regex engine
fed with user text), and the full-text index each tab keeps of its rows.

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
rows of the rest. ``TextIndex`` is a tab's full-text index: an FTS5 table kept by triggers on
SQLite, a GIN index over a ``tsvector`` expression on PostgreSQL; either is written by the
database in the writer's own transaction, so every writer (bulk paths included) keeps it.
"""

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta

import peewee
from flask import g
from flask import has_app_context

from core.db import database
from core.db import is_sqlite

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
    value: how ``core.feed`` cuts a search into terms that the tab then checks one by one.
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
            return date.fromisoformat(text)
        except ValueError:
            pass
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


# People, teams and other names -------------------------------------------------------------------


class PeopleNamed:
    """Answers "who does this person qualifier name?" for one query: the platform's people
    are read once, on the first such term, whichever qualifier (``actor:``, ``from:``…)."""

    def __init__(self):
        self._people = None

    def ids(self, filters, term):
        """Return the ids of the people ``term``'s value names. When it names no one and
        is not an exclusion, ``filters`` becomes empty (``nothing``) with a hint."""
        if self._people is None:
            from core.people import User

            self._people = list(User.select(User.id, User.name, User.email).tuples())
        found = matching_names(term.value, self._people)
        if not found and not term.negated:
            filters.nothing = True
            filters.hints.append(f"No one is named “{term.value}”.")
        return found


def matching_names(value, named):
    """Return the ids of ``named`` (``(id, name, *aliases)`` rows) that ``value`` names.

    A whole name (any case) names exactly the rows of that name, as the filter bar writes
    them; otherwise a name does when one of its words starts with ``value`` (``dana`` finds
    Dana Scully, ``scu`` too), and an alias (an email) only when it equals ``value``.
    """
    wanted = value.casefold().strip()
    exact = [row[0] for row in named if row[1].casefold() == wanted]
    if exact:
        return exact
    found = []
    for row in named:
        words = row[1].casefold().split()
        if any(" ".join(words[i:]).startswith(wanted) for i in range(len(words))) or any(
            alias and alias.casefold() == wanted for alias in row[2:]
        ):
            found.append(row[0])
    return found


# The full-text index ----------------------------------------------------------------------------


def words_of(text):
    """Return the words of ``text`` as the index holds them: lower case, letters and digits."""
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class TextIndex:
    """The full-text index of one table, over the columns a person searches.

    SQLite: an external-content FTS5 table named ``name`` (``unicode61``, no diacritics
    folding, prefix indexes for 2 to 4 characters, no column sizes: nothing is ranked) kept by
    triggers on ``table``. A longer prefix of a word in a large share of the rows is slower
    (FTS5 merges every posting of its words first: ~9 ms for a quarter of 1M rows).
    PostgreSQL: a stored generated column ``<name>_vector``, ``to_tsvector('simple', …)`` of the
    same columns with every run of other characters made a space (so both databases cut words
    the same way, and a phrase stays within one column on both), and a GIN index ``name`` on it.
    """

    name: str
    table: str
    columns: tuple
    # SQLite only: columns of the index computed from the row, never searched by words, that
    # let the index drive a filter in row id order: ``(name, SQL of {row}, source column)``.
    derived: tuple = ()

    # Schema (from the tab's ``register_migrations``).

    def create(self):
        """Create the index and its triggers and index the rows already there."""
        if not is_sqlite():
            # A stored column, not an index expression: a phrase is checked against each
            # candidate row's vector, which an expression index would compute again (270 ms
            # for a common phrase at 200,000 events).
            database.execute_sql(
                f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {self.vector} tsvector "
                f"GENERATED ALWAYS AS ({self._tsvector()}) STORED"
            )
            database.execute_sql(
                f"CREATE INDEX IF NOT EXISTS {self.name} ON {self.table} USING gin ({self.vector})"
            )
            return
        names = [*self.columns, *(name for name, _, _ in self.derived)]
        cols = ", ".join(names)

        def values_of(row):
            return ", ".join(
                [f"{row}.{c}" for c in self.columns]
                + [sql.format(row=row) for _, sql, _ in self.derived]
            )

        database.execute_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.name} USING fts5({cols}, "
            f"content='{self.table}', content_rowid='id', "
            f"tokenize='unicode61 remove_diacritics 0', prefix='2 3 4', columnsize=0)"
        )
        remove = (
            f"INSERT INTO {self.name} ({self.name}, rowid, {cols}) "
            f"VALUES ('delete', old.id, {values_of('old')});"
        )
        add = f"INSERT INTO {self.name} (rowid, {cols}) VALUES (new.id, {values_of('new')});"
        sources = ", ".join(dict.fromkeys([*self.columns, *(c for _, _, c in self.derived)]))
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {self.name}_insert AFTER INSERT ON {self.table} "
            f"BEGIN {add} END"
        )
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {self.name}_delete AFTER DELETE ON {self.table} "
            f"BEGIN {remove} END"
        )
        database.execute_sql(
            f"CREATE TRIGGER IF NOT EXISTS {self.name}_update AFTER UPDATE OF {sources} "
            f"ON {self.table} BEGIN {remove} {add} END"
        )
        # The rows already there ('rebuild' would read the derived columns from the table).
        database.execute_sql(
            f"INSERT INTO {self.name} (rowid, {cols}) "
            f"SELECT id, {values_of(self.table)} FROM {self.table}"
        )

    @property
    def vector(self):
        """Return the name of the PostgreSQL column holding each row's words."""
        return f"{self.name}_vector"

    def _tsvector(self):
        # One vector per column, with a lexeme no query can name (queries are lower case)
        # between them, so a phrase never runs from one field into the next, as in FTS5.
        vectors = [
            f"to_tsvector('simple', regexp_replace(COALESCE({c}, ''), '[^[:alnum:]]+', ' ', 'g'))"
            for c in self.columns
        ]
        return "(" + " || 'FIELD:1'::tsvector || ".join(vectors) + ")"

    def exists(self):
        """Tell whether the index is there (its migration has run), once per request."""
        cache = g.setdefault("text_indexes", {}) if has_app_context() else {}
        if self.name not in cache:
            if is_sqlite():
                sql = "SELECT 1 FROM sqlite_master WHERE name = ?"
            else:
                sql = "SELECT 1 WHERE to_regclass(%s) IS NOT NULL"
            cache[self.name] = database.execute_sql(sql, (self.name,)).fetchone() is not None
        return cache[self.name]

    # Reading.

    def condition(self, id_column, terms, older_than=None, newer_than=None):
        """Return the SQL condition "the row (``id_column``) matches ``terms``" (free words
        and phrases, included and excluded), or None when no term has a word to look for.

        ``older_than`` / ``newer_than`` repeat the keyset bounds inside the index lookup, so
        a deep page skips the matches above its cursor instead of reading them. Before the
        index's migration has run, each term is looked for as a substring of the columns (a
        scan: correct, slow).
        """
        if not _worded(terms):
            return None
        if not self.exists():
            return self._scan_condition(terms)
        if not is_sqlite():
            return self._pg_condition(terms)
        positive, expression = self._fts5_expression(terms)
        bounds = ""
        if older_than is not None:
            bounds += f" AND rowid < {int(older_than)}"
        if newer_than is not None:
            bounds += f" AND rowid > {int(newer_than)}"
        lookup = f"(SELECT rowid FROM {self.name} WHERE {self.name} MATCH ?{bounds})"
        if positive:
            return id_column.in_(peewee.SQL(lookup, [expression]))
        return id_column.not_in(peewee.SQL(lookup, [expression]))

    def _pg_condition(self, terms):
        positive = " & ".join(
            _tsquery_phrase(words, not t.phrase) for words, t in _worded(terms) if not t.negated
        )
        negative = " | ".join(
            _tsquery_phrase(words, not t.phrase) for words, t in _worded(terms) if t.negated
        )
        condition = None
        if positive:
            condition = peewee.SQL(f"{self.vector} @@ to_tsquery('simple', %s)", [positive])
        if negative:
            refused = peewee.SQL(f"NOT ({self.vector} @@ to_tsquery('simple', %s))", [negative])
            condition = refused if condition is None else (condition & refused)
        return condition

    def search(self, query, id_column, terms, older_than=None, newer_than=None, values=None):
        """Return ``(query, order)``: ``query`` limited to the rows matching ``terms``, and the
        column that orders it newest first (``id_column``, or the index's own row id).

        On SQLite the index drives the query: it is joined as a subquery and the rows come in
        its row id order, newest first, so the first page stops after 50 matches however many
        there are (as ``id IN (…)`` SQLite would collect every match first: 40 ms for a word
        in a quarter of 1M events, against 0.1 ms). Elsewhere this is ``condition``.

        ``values`` (``{column: [value, …]}``, SQLite only) lets the index drive a filter the
        caller applies exactly in SQL anyway: the rows whose ``column`` holds the words of one
        of the values, newest first, instead of an index that must then be sorted.
        """
        if not is_sqlite() or not self.exists():
            matching = self.condition(id_column, terms, older_than, newer_than)
            return (query if matching is None else query.where(matching)), id_column
        expression = self._fts5_expression(terms)
        narrowing = self._fts5_values(values or {})
        if expression is None and not narrowing:
            return query, id_column
        if expression is not None and not expression[0]:  # only exclusions: nothing to drive
            query = query.where(self.condition(id_column, terms, older_than, newer_than))
            if not narrowing:
                return query, id_column
            expression = None
        wanted = " AND ".join(part for part in (narrowing, expression and expression[1]) if part)
        table = peewee.Table(self.name)
        matches = table.select(peewee.SQL("rowid AS matched")).where(
            peewee.SQL(f"{self.name} MATCH ?", [wanted])
        )
        if older_than is not None:
            matches = matches.where(peewee.SQL("rowid < ?", [int(older_than)]))
        if newer_than is not None:
            matches = matches.where(peewee.SQL("rowid > ?", [int(newer_than)]))
        matches = matches.alias("matches")
        return query.join(matches, on=(matches.c.matched == id_column)), matches.c.matched

    def _fts5_values(self, values):
        """Return the FTS5 expression "``column`` holds the words of one of its values" for
        each column of ``values`` (AND), or "" when one of them has a value without words."""
        parts = []
        for column, wanted in values.items():
            phrases = [words_of(str(value)) for value in wanted]
            known = column in self.columns or any(column == name for name, _, _ in self.derived)
            if not phrases or not known or not all(phrases):
                return ""
            parts.append(
                f"{{{column}}} : (" + " OR ".join(_fts5_phrase(w, False) for w in phrases) + ")"
            )
        return " AND ".join(parts)

    def _fts5_expression(self, terms):
        """Return ``(has a word to find, the FTS5 expression)``, or None for no word at all."""
        worded = _worded(terms)
        if not worded:
            return None
        match = " AND ".join(_fts5_phrase(w, not t.phrase) for w, t in worded if not t.negated)
        unwanted = " OR ".join(_fts5_phrase(w, not t.phrase) for w, t in worded if t.negated)
        if self.derived:  # words are looked for in the searched columns only
            searched = "{" + " ".join(self.columns) + "} : "
            match = match and f"{searched}({match})"
            unwanted = unwanted and f"{searched}({unwanted})"
        if match and unwanted:
            return True, f"({match}) NOT ({unwanted})"
        return (True, match) if match else (False, unwanted)

    def _scan_condition(self, terms):
        condition = None
        for _, term in _worded(terms):
            text = term.value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            one = " OR ".join(
                f"LOWER(COALESCE({c}, '')) LIKE {database.param} ESCAPE '\\'" for c in self.columns
            )
            part = peewee.SQL(f"({one})", [f"%{text}%"] * len(self.columns))
            if term.negated:
                part = ~part
            condition = part if condition is None else (condition & part)
        return condition


def _worded(terms):
    """Return ``(words, term)`` for the free terms that have a word to look for."""
    found = []
    for term in terms:
        words = words_of(term.value)
        if words:
            found.append((words, term))
    return found


def _fts5_phrase(words, prefix):
    # Each word is letters and digits only, so a double-quoted FTS5 string holds it safely.
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _tsquery_phrase(words, prefix):
    parts = [f"'{word}'" for word in words]
    if prefix:
        parts[-1] += ":*"
    return "(" + " <-> ".join(parts) + ")"
