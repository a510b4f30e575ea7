"""The full-text index a list tab keeps of its rows, searched by the box's free words.

``TextIndex`` is an FTS5 table on SQLite, a GIN index over a stored ``tsvector`` column on
PostgreSQL; either is written in the writer's own transaction, so a record and its index entry
commit or roll back together. On SQLite, triggers keep the index for every writer; a batch
insert through ``core.records.insert_many`` indexes its rows itself, with one statement. An
index declared ``follows`` (SQLite) is instead caught up after commit, in batches, by a
background thread, and searches check the rows it has not taken in yet one by one.
"""

import functools
import operator
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass

import peewee
from flask import g
from flask import has_app_context

from core import checkpointer
from core.db import database
from core.db import is_sqlite
from core.search.matching import FUNCTION
from core.search.matching import spec_of
from core.search.matching import words_of

# The indexes by their table (``TextIndex.batch``).
_BY_TABLE = {}

# SQLite: how far each index that follows its table has taken rows in (``TextIndex.follows``).
POSITIONS = "text_index_position"
# Rows a catch-up indexes per transaction: about 20 ms of the write lock, so a writer waiting
# behind it barely notices.
CATCH_UP_ROWS = 2000

# PostgreSQL: each database's index's most common words with their share of rows, and when
# they were read.
_FREQUENCIES = {}
STATS_SECONDS = 600


def index_of(table):
    """Return the ``TextIndex`` of ``table``, or None when it has none."""
    return _BY_TABLE.get(table)


@dataclass(frozen=True)
class Part:
    """One side of a search split at a following index's ``position``: the rows the index
    holds, read through it, or (``recent``) the rows above it, each checked itself."""

    position: int
    recent: bool


@dataclass(frozen=True)
class TextIndex:
    """The full-text index of one table, over the columns a person searches.

    SQLite: an external-content FTS5 table named ``name`` (``unicode61``, no diacritics
    folding, prefix indexes for 2 to 4 characters, no column sizes: nothing is ranked) kept by
    triggers on ``table``, except for a batch insert, which writes its rows' entries itself with
    one statement (``batch``). A longer prefix of a word in a large share of the rows is slower
    (FTS5 merges every posting of its words first: ~9 ms for a quarter of 1M rows).
    PostgreSQL: a stored generated column ``<name>_vector``, ``to_tsvector('simple', …)`` of the
    same columns with every run of other characters made a space (so both databases cut words
    the same way, and a phrase stays within one column on both), and a GIN index ``name`` on it.

    ``follows`` (SQLite): the writers do not index their rows; the index follows the table,
    taking in the rows above its position (``text_index_position``) in batches of
    ``CATCH_UP_ROWS``, each in a short transaction of its own, from every process's background
    thread (``core.checkpointer``) about twice a second. A writer then pays for its row alone
    (the index cost 0.1 ms of a 0.5 ms one-event commit), and one statement indexes a batch
    for less than its rows cost one by one. Searches stay exact: the rows above the position
    are checked one by one (``words_match``), so a record is found from the moment it
    commits. Below the position the triggers keep the index whatever writes (a deleted,
    changed or re-used id).
    """

    name: str
    table: str
    columns: tuple
    # SQLite only: columns of the index computed from the row, never searched by words, that
    # let the index drive a filter in row id order: ``(name, SQL of {row}, source column)``.
    derived: tuple = ()
    follows: bool = False

    def __post_init__(self):
        _BY_TABLE[self.table] = self  # for the batch writer, ``core.records.insert_many``

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
        cols = self._names()
        values_of = self._values_of
        fresh = not database.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE name = ?", (self.name,)
        ).fetchone()
        database.execute_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.name} USING fts5({cols}, "
            f"content='{self.table}', content_rowid='id', "
            f"tokenize='unicode61 remove_diacritics 0', prefix='2 3 4', columnsize=0)"
        )
        if fresh:  # the rows already there ('rebuild' would read the derived columns)
            database.execute_sql(self._index_rows_sql(""))
        when = {"new": "", "old": ""}
        if self.follows:
            database.execute_sql(
                f"CREATE TABLE IF NOT EXISTS {POSITIONS} "
                "(name TEXT PRIMARY KEY, indexed_through INTEGER NOT NULL)"
            )
            # Every row is indexed now: just above, or by the writers' triggers until this
            # index followed its table.
            database.execute_sql(
                f"INSERT OR IGNORE INTO {POSITIONS} (name, indexed_through) "
                f"SELECT ?, COALESCE(MAX(id), 0) FROM {self.table}",
                (self.name,),
            )
            when = {row: f"WHEN {row}.id <= {self._position_sql()} " for row in when}
        remove = (
            f"INSERT INTO {self.name} ({self.name}, rowid, {cols}) "
            f"VALUES ('delete', old.id, {values_of('old')});"
        )
        add = f"INSERT INTO {self.name} (rowid, {cols}) VALUES (new.id, {values_of('new')});"
        sources = ", ".join(dict.fromkeys([*self.columns, *(c for _, _, c in self.derived)]))
        triggers = {
            "insert": f"AFTER INSERT ON {self.table} {when['new']}BEGIN {add} END",
            "delete": f"AFTER DELETE ON {self.table} {when['old']}BEGIN {remove} END",
            "update": (
                f"AFTER UPDATE OF {sources} ON {self.table} {when['old']}BEGIN {remove} {add} END"
            ),
        }
        for event, body in triggers.items():  # made again: an index may start to follow
            database.execute_sql(f"DROP TRIGGER IF EXISTS {self.name}_{event}")
            database.execute_sql(f"CREATE TRIGGER {self.name}_{event} {body}")

    def _position_sql(self):
        """Return the SQL of this index's position: the rows up to it are indexed."""
        return f"(SELECT indexed_through FROM {POSITIONS} WHERE name = '{self.name}')"

    def _names(self):
        return ", ".join([*self.columns, *(name for name, _, _ in self.derived)])

    def _values_of(self, row):
        return ", ".join(
            [f"{row}.{c}" for c in self.columns]
            + [sql.format(row=row) for _, sql, _ in self.derived]
        )

    def _index_rows_sql(self, where):
        return (
            f"INSERT INTO {self.name} (rowid, {self._names()}) "
            f"SELECT id, {self._values_of(self.table)} FROM {self.table}{where}"
        )

    def catch_up(self, cursor, most=CATCH_UP_ROWS):
        """Index, in the caller's write transaction, the next rows (at most ``most``) above
        this following index's position and move the position past them; return how many
        ids that covered (0: the index holds every row)."""
        cursor.execute(f"SELECT indexed_through FROM {POSITIONS} WHERE name = ?", (self.name,))
        row = cursor.fetchone()
        if row is None:  # this database's index does not follow its table (yet)
            return 0
        (position,) = row
        cursor.execute(
            f"SELECT MAX(id) FROM (SELECT id FROM {self.table} WHERE id > ? ORDER BY id LIMIT ?)",
            (position, most),
        )
        (through,) = cursor.fetchone()
        if through is None:
            return 0
        cursor.execute(self._index_rows_sql(" WHERE id > ? AND id <= ?"), (position, through))
        cursor.execute(
            f"UPDATE {POSITIONS} SET indexed_through = ? WHERE name = ?", (through, self.name)
        )
        return through - position

    # Writing (SQLite; PostgreSQL computes the stored vector with the row itself).

    @contextmanager
    def batch(self, cursor, first, last):
        """Index, with one statement, the rows with ids ``first`` to ``last`` that the block
        inserts into the table, in the same transaction, instead of the insert trigger.

        The trigger costs far more than the row under a savepoint (the recorder's): each
        insert then keeps a statement journal of every page it touches, index pages
        included, 20-40x the row at 100,000 events. So the block runs without it: the
        trigger is dropped and made again from its own stored SQL in the same transaction,
        which holds SQLite's only write lock, so no other writer ever inserts without it.
        Whatever the block inserted is indexed even when it raises: no row is ever left out
        of the index (the caller's savepoint then undoes both, or neither). When a row of
        the range is already there (ids not from ``allocate_ids``), outside a transaction or
        outside SQLite, the block runs alone and the trigger indexes each row.

        An index that ``follows`` its table takes the block's rows in later (``catch_up``):
        the trigger, which would skip each of them by its ``WHEN``, still costs the journal,
        so it is dropped all the same, and nothing is indexed here. Unless a row of the range
        is at or below the position (an id re-used after the newest rows went): then the
        trigger stays and indexes it.
        """
        trigger = None
        # Only inside a transaction: in autocommit the trigger's absence would be committed.
        if is_sqlite() and cursor.connection.in_transaction:
            trigger = cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (f"{self.name}_insert",),
            ).fetchone()
        position = self._position(cursor) if trigger is not None else None
        if (
            trigger is None
            or (position is not None and first <= position)
            or cursor.execute(
                f"SELECT 1 FROM {self.table} WHERE id BETWEEN ? AND ? LIMIT 1", (first, last)
            ).fetchone()
        ):
            yield
            return
        cursor.execute(f"DROP TRIGGER {self.name}_insert")
        try:
            yield
        finally:
            # SQLite may have rolled the whole transaction back already (a full disk, an
            # I/O error): the drop is undone with it, and the error raised is the one to see.
            if cursor.connection.in_transaction:
                try:
                    if position is None:  # written with the rows, not following the table
                        sql = self._index_rows_sql(" WHERE id BETWEEN ? AND ?")
                        cursor.execute(sql, (first, last))
                finally:
                    # Made again even when indexing fails: a caller that goes on and commits
                    # must never commit the table without its trigger.
                    cursor.execute(trigger[0])

    def _position(self, cursor):
        """Return this index's position when it follows its table in this database, else
        None (written with the rows: SQLite before its migration, or not following)."""
        if not self.follows:
            return None
        found = (
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (POSITIONS,)).fetchone()
            and cursor.execute(
                f"SELECT indexed_through FROM {POSITIONS} WHERE name = ?", (self.name,)
            ).fetchone()
        )
        return found[0] if found else None

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

    def unindexed_from(self):
        """Return the position of this following index when rows above it are still to be
        indexed (they are searched one by one), else None (SQLite; elsewhere always None)."""
        if not (self.follows and is_sqlite() and self.exists()):
            return None
        # Without its row (never the case but by hand), no row counts as indexed: the triggers
        # then skip every row, so every row is checked one by one, slow but exact.
        position, newest = database.execute_sql(
            f"SELECT COALESCE((SELECT indexed_through FROM {POSITIONS} WHERE name = ?), 0),"
            f" (SELECT MAX(id) FROM {self.table})",
            (self.name,),
        ).fetchone()
        return position if newest is not None and newest > position else None

    def exists(self):
        """Tell whether the index is there (its migrations have run), once per request."""
        cache = g.setdefault("text_indexes", {}) if has_app_context() else {}
        if self.name not in cache:
            if is_sqlite():
                sql = "SELECT 1 FROM sqlite_master WHERE name = ?"
                if self.follows:
                    sql += f" AND EXISTS (SELECT 1 FROM sqlite_master WHERE name = '{POSITIONS}')"
            else:
                sql = "SELECT 1 WHERE to_regclass(%s) IS NOT NULL"
            cache[self.name] = database.execute_sql(sql, (self.name,)).fetchone() is not None
        return cache[self.name]

    # Reading.

    def condition(self, id_column, terms, older_than=None, newer_than=None, per_row=False):
        """Return the SQL condition "the row (``id_column``) matches ``terms``" (free words
        and phrases, included and excluded), or None when no term has a word to look for.

        ``per_row="rarest"`` (PostgreSQL): the index is asked for the rarest word of the
        included terms alone (by the column's statistics), and every term is checked on the
        rows it finds.

        ``older_than`` / ``newer_than`` repeat the keyset bounds inside the index lookup, so
        a deep page skips the matches above its cursor instead of reading them. Before the
        index's migration has run, each term is looked for as a substring of the columns (a
        scan: correct, slow). ``per_row`` (PostgreSQL): the words are checked on each row the
        query reads, never looked up in the index (for a query walking rows in id order).
        """
        if not _worded(terms):
            return None
        if not self.exists():
            return self._scan_condition(terms)
        if not is_sqlite():
            return self._pg_condition(terms, per_row)
        positive, expression = self._fts5_expression(terms)
        position = self.unindexed_from()
        bounds = ""
        if older_than is not None:
            bounds += f" AND rowid < {int(older_than)}"
        if newer_than is not None:
            bounds += f" AND rowid > {int(newer_than)}"
        if position is not None:
            bounds += f" AND rowid <= {int(position)}"
        lookup = f"(SELECT rowid FROM {self.name} WHERE {self.name} MATCH ?{bounds})"
        if positive:
            found = id_column.in_(peewee.SQL(lookup, [expression]))
        else:
            found = id_column.not_in(peewee.SQL(lookup, [expression]))
        if position is None:
            return found
        # The rows above the position are not in the index yet: each is checked itself.
        checked = self.words_match(id_column, terms)
        if positive:
            return found | ((id_column > position) & checked)
        return found & ((id_column <= position) | checked)

    def words_match(self, id_column, terms):
        """Return the SQL condition "this row's searched columns hold ``terms``", checked on
        the row itself (``checked_on_row``), for rows the index does not hold yet."""
        fields = [id_column.model._meta.columns[c] for c in self.columns]
        return checked_on_row(_worded(terms), fields)

    def _pg_condition(self, terms, per_row=False):
        positive = " & ".join(
            _tsquery_phrase(words, not t.phrase) for words, t in _worded(terms) if not t.negated
        )
        negative = " | ".join(
            _tsquery_phrase(words, not t.phrase) for words, t in _worded(terms) if t.negated
        )
        condition = None
        # ``ts_match_vq`` is what ``@@`` calls, as a function: the planner never reads it
        # through the index.
        match = (
            "ts_match_vq({}, to_tsquery('simple', %s))"
            if per_row
            else "{} @@ to_tsquery('simple', %s)"
        )
        if positive:
            condition = peewee.SQL(match.format(self.vector), [positive])
            rarest = per_row == "rarest" and self._rarest_word(terms)
            if rarest:
                # The index finds the rows holding the rarest word alone; every term is then
                # checked on those rows: "Task 0042" read the index's 250,000 entries of
                # words starting with "task" to intersect them with 834 of "0042" (40 ms).
                found = peewee.SQL(f"{self.vector} @@ to_tsquery('simple', %s)", [rarest])
                condition = found & condition
        if negative:
            refused = peewee.SQL(f"NOT ({self.vector} @@ to_tsquery('simple', %s))", [negative])
            condition = refused if condition is None else (condition & refused)
        return condition

    def rarest_share(self, terms):
        """Return the share of rows holding the rarest included word of ``terms``, by the
        column's statistics (0 for a word they do not list), or None when unknown."""
        found = self._rarest(terms)
        return found[0] if found else None

    def _rarest_word(self, terms):
        found = self._rarest(terms)
        return found[2] if found else None

    def _rarest(self, terms):
        """Return the tsquery of the included word the fewest rows hold, by the statistics
        PostgreSQL keeps of the vector column (a word it does not list is rarer than every
        word it lists; a prefix holds every listed word it starts), or None."""
        frequencies = self._word_frequencies()
        if not frequencies:  # not analysed yet: no word known to be rarer than another
            return None
        candidates = []
        for words, term in _worded(terms):
            if term.negated:
                continue
            for position, word in enumerate(words):
                prefix = not term.phrase and position == len(words) - 1
                if prefix:
                    share = sum(f for w, f in frequencies.items() if w.startswith(word))
                else:
                    share = frequencies.get(word, 0.0)
                candidates.append((share, -len(word), _tsquery_phrase([word], prefix)))
        return min(candidates) if candidates else None

    def _word_frequencies(self):
        """Return ``{word: share of rows}`` of the vector column's most common words, read
        from ``pg_stats`` at most every ``STATS_SECONDS`` in a process."""
        now = time.monotonic()
        key = (database.database, self.name)
        cached = _FREQUENCIES.get(key)
        if cached is None or now - cached[0] > STATS_SECONDS or not cached[1]:
            row = database.execute_sql(
                "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats"
                " WHERE tablename = %s AND attname = %s",
                (self.table, self.vector),
            ).fetchone()
            words = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
            cached = _FREQUENCIES[key] = (now, words)
        return cached[1]

    def search(
        self,
        query,
        id_column,
        terms,
        older_than=None,
        newer_than=None,
        values=None,
        per_row=False,
        part=None,
    ):
        """Return ``(query, order)``: ``query`` limited to the rows matching ``terms``, and the
        column that orders it newest first (``id_column``, or the index's own row id).

        On SQLite the index drives the query: it is joined as a subquery and the rows come in
        its row id order, newest first, so the first page stops after 50 matches however many
        there are (as ``id IN (…)`` SQLite would collect every match first: 40 ms for a word
        in a quarter of 1M events, against 0.1 ms). Elsewhere this is ``condition``.

        ``values`` (``{column: [value, …]}``, SQLite only) lets the index drive a filter the
        caller applies exactly in SQL anyway: the rows whose ``column`` holds the words of one
        of the values, newest first, instead of an index that must then be sorted.
        ``per_row``: see ``condition``.

        ``part`` (a ``Part``): the rows up to a following index's position, read through it,
        or those above it, each checked itself; the caller joins the two. Without one, rows
        above the position make this ``condition``: exact, not driven by the index.
        """
        if not is_sqlite() or not self.exists():
            matching = self.condition(id_column, terms, older_than, newer_than, per_row)
            return (query if matching is None else query.where(matching)), id_column
        if part is not None and part.recent:
            query = query.where(id_column > part.position)
            if _worded(terms):
                query = query.where(self.words_match(id_column, terms))
            return query, id_column
        if part is not None:
            query = query.where(id_column <= part.position)
        expression = self._fts5_expression(terms)
        narrowing = self._fts5_values(values or {})
        if expression is None and not narrowing:
            return query, id_column
        # Asked only of a query with something to look up: a plain page reads no position.
        if part is None and self.unindexed_from() is not None:
            matching = self.condition(id_column, terms, older_than, newer_than)
            return (query if matching is None else query.where(matching)), id_column
        if expression is not None and not expression[0]:  # only exclusions: nothing to drive
            query = query.where(self.condition(id_column, terms, older_than, newer_than))
            if not narrowing:
                return query, id_column
            expression = None
        wanted = " AND ".join(p for p in (narrowing, expression and expression[1]) if p)
        table = peewee.Table(self.name)
        matches = table.select(peewee.SQL("rowid AS matched")).where(
            peewee.SQL(f"{self.name} MATCH ?", [wanted])
        )
        if older_than is not None:
            matches = matches.where(peewee.SQL("rowid < ?", [int(older_than)]))
        if newer_than is not None:
            matches = matches.where(peewee.SQL("rowid > ?", [int(newer_than)]))
        if part is not None:
            matches = matches.where(peewee.SQL("rowid <= ?", [int(part.position)]))
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


def checked_on_row(worded, fields):
    """Return the SQL condition "the columns ``fields`` (SQL expressions, one per column)
    hold every included term of ``worded`` (``(words, term)``) and no excluded one", read as
    the full-text index would (``core.search.matching``), for a row it does not hold (SQLite).
    """
    spec = spec_of(
        [(words, not t.phrase) for words, t in worded if not t.negated],
        [(words, not t.phrase) for words, t in worded if t.negated],
    )
    checked = getattr(peewee.fn, FUNCTION)(spec, *fields) == 1
    # A row must hold each wanted word somewhere: SQLite's LIKE (ASCII letters in either
    # case) turns most rows away before the Python check (15 µs a row). Words with other
    # letters are left to the check: LIKE would not match their other case.
    wanted = sorted({w for words, t in worded if not t.negated for w in words if w.isascii()})
    if not wanted:
        return checked
    text = peewee.NodeList([peewee.fn.COALESCE(f, "") for f in fields], glue=" || ' ' || ")
    # Letters and digits only: nothing in a word that LIKE would read as a wildcard.
    # (SQL, not peewee's LIKE: on SQLite that becomes GLOB, which minds the case.)
    held = [peewee.NodeList((text, peewee.SQL("LIKE ?", [f"%{word}%"]))) for word in wanted]
    return functools.reduce(operator.and_, held) & checked


def catch_up_all(connection, stopping=None):
    """Bring every following index up to its table's newest row, a batch per transaction, on
    ``connection`` (a plain ``sqlite3`` one in autocommit: the background thread's); stop
    early when ``stopping`` (an ``Event``) is set. A database without an index skips it."""
    cursor = connection.cursor()
    for index in list(_BY_TABLE.values()):
        if not index.follows:
            continue
        while not (stopping and stopping.is_set()):
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    return  # a long write holds the lock: the next tick tries again
                raise
            try:
                moved = index.catch_up(cursor)
                cursor.execute("COMMIT")
            except sqlite3.OperationalError as error:
                cursor.execute("ROLLBACK")
                if "no such table" in str(error):  # its migrations have not run here
                    break
                raise
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            if moved == 0:
                break


def catch_up_now():
    """Bring every following index up to its table's newest row now, on the app's database
    (commands and tests; the background thread does it otherwise)."""
    if not is_sqlite():
        return
    for index in list(_BY_TABLE.values()):
        if index.follows and index.exists():
            while True:
                with database.atomic():
                    if index.catch_up(database.cursor()) == 0:
                        break


# Each process's background thread keeps the following indexes caught up.
checkpointer.every_tick(catch_up_all)


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
