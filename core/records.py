"""What every recorder of an append-only list needs: ids a reader can follow without missing a
late commit, an all-or-nothing write inside the caller's transaction, and the driver's fastest
batch insert.

The event store (``core.events``), the sign-in log (``core.auth.signins``) and each tab's own
records (the email outbox…) write through these three functions, so every list has the same
guarantees: a record commits with the change it records or not at all, and a reader asking for
"ids above the newest I saw" (the "N new" poll) never misses a record that committed late.
"""

import io
import re
import zlib
from contextlib import contextmanager
from datetime import datetime

from core.db import database
from core.db import is_sqlite
from core.search.index import index_of


@contextmanager
def all_or_nothing(name="record"):
    """Run the block under a savepoint of the caller's transaction, or in a transaction of its
    own when there is none. A failure undoes the block's writes, never the caller's others.

    ``name`` is fixed per recorder, unlike ``database.atomic()``'s random one, so SQLite reuses
    its prepared statements: this runs once per recorded action.
    """
    if not database.in_transaction():
        with database.atomic():
            yield
        return
    cursor = database.cursor()
    cursor.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
        cursor.execute(f"RELEASE SAVEPOINT {name}")
        raise
    cursor.execute(f"RELEASE SAVEPOINT {name}")


# PostgreSQL advisory lock keys of the "ids from here on may still commit" markers: the table's
# tag in the high bits, the lowest id the writer can be handed in the low 40.
ID_BITS = 40
ID_MASK = (1 << ID_BITS) - 1


def table_tag(table):
    """Return the number that names ``table`` in its writers' advisory lock keys."""
    return zlib.crc32(table.encode()) % (1 << 22) + 1


def allocate_ids(table, count, cursor):
    """Reserve ``count`` new, increasing ids of ``table`` inside the current write transaction.

    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so the next ids after the
    current maximum are ours, and they become visible in the order they were handed out.

    PostgreSQL: writers do not wait for each other. Before taking ids from the sequence, a
    writer holds a shared advisory lock, until it commits, whose key says "the ids I will be
    handed are at least the sequence's last value + 1". Readers asking for the newest records
    stop below the lowest such marker (``commit_horizon``), so a record that commits late with
    a lower id is never skipped. Both statements go in one round trip, in this order.
    """
    if is_sqlite():
        last = cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        return list(range(last + 1, last + count + 1))
    cursor.execute(
        f"{marker_statement(table)};"
        f" SELECT nextval('{sequence_of(table)}') FROM generate_series(1, {int(count)})"
    )
    return sorted(row[0] for row in cursor.fetchall())


def sequence_of(table):
    """Return the name of the PostgreSQL sequence that hands out ``table``'s ids (``id``
    declared as a serial column names it ``<table>_id_seq``)."""
    return f"{table}_id_seq"


def marker_statement(table):
    """Return the statement a PostgreSQL writer of ``table`` runs before taking ids from the
    sequence, in the same transaction: its marker (see ``allocate_ids``)."""
    return (
        f"SELECT pg_advisory_xact_lock_shared(({table_tag(table)}::bigint << {ID_BITS})"
        f" | (COALESCE(pg_sequence_last_value('{sequence_of(table)}'), 0) + 1))"
    )


def commit_horizon(table):
    """Return the id below which every record of ``table`` that will ever commit is already
    visible, or None on SQLite (where ids commit in order).

    Read in two statements, in this order, before the query that uses it: the sequence's last
    value L, then the writers' markers (``allocate_ids``). A writer that took its ids after L
    was read gets ids above L; one that took them before still holds a marker no higher than
    its ids, since a lock is released only once its commit is visible. So no record below
    min(L + 1, the lowest marker) can appear after the next statement's snapshot. Both
    statements go in one round trip (PostgreSQL runs them in order; the first leaves L in a
    session setting for the second).
    """
    if is_sqlite():
        return None
    cursor = database.cursor()
    cursor.execute(
        "SELECT set_config('activity_stream.sequence_last',"
        f" COALESCE(pg_sequence_last_value('{sequence_of(table)}'), 0)::text, false);"
        " SELECT LEAST(current_setting('activity_stream.sequence_last')::bigint + 1,"
        " (SELECT MIN(((classid::bigint << 32) | objid::bigint) & %s) FROM pg_locks"
        " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND ((classid::bigint << 32) | objid::bigint) >> %s = %s))",
        (ID_MASK, ID_BITS, table_tag(table)),
    )
    return cursor.fetchone()[0]


def insert_many(cursor, table, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with the driver's fastest
    bulk call.

    sqlite3's ``executemany`` steps one prepared statement per row in C. On PostgreSQL the
    rows go through ``COPY … FROM STDIN``: one round trip and no per-row statement, several
    times faster than multi-row INSERTs. Same table, same rows, same transaction either way.

    On SQLite, several rows with their ids into a table with a full-text index are indexed
    by one statement right after the insert, in the same transaction (``TextIndex.batch``),
    instead of one index insert per row by its trigger.
    """
    if not rows:
        return
    if is_sqlite():
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        index = index_of(table)
        if index is None or len(rows) < 2 or "id" not in columns:
            cursor.executemany(sql, rows)
            return
        position = columns.index("id")
        ids = [row[position] for row in rows]
        if None in ids:  # ids the database hands out: the trigger indexes each row
            cursor.executemany(sql, rows)
            return
        with index.batch(cursor, min(ids), max(ids)):
            cursor.executemany(sql, rows)
        return
    text = copy_text(rows)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text))


# COPY's text format: a backslash, a tab, a newline or a carriage return inside a value is
# written as an escape; a missing value is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]").search


def copy_text(rows):
    """Return ``rows`` as the text ``COPY … FROM STDIN`` reads: a line per row, its values
    as ``copy_value`` writes them.

    Strings, None and integers, most of a row, are written inline, and a string is translated
    only when it holds a character to escape: a call per value and ``translate``'s
    per-character mapping were two fifths of the bulk path's Python time (this is 4x faster).
    """
    escapes, needs_escape, missing = _COPY_ESCAPES, _NEEDS_ESCAPE, "\\N"
    lines = [
        "\t".join(
            [
                (value.translate(escapes) if needs_escape(value) else value)
                if value.__class__ is str
                else missing
                if value is None
                else str(value)
                if value.__class__ is int
                else copy_value(value)
                for value in row
            ]
        )
        for row in rows
    ]
    lines.append("")
    return "\n".join(lines)


def copy_value(value):
    """Return ``value`` as one field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return str(value).translate(_COPY_ESCAPES)  # a number, or an object whose text may hold a tab


def clip(text, limit):
    """Return ``text`` (None as empty) cut to ``limit`` characters, an ellipsis marking a cut."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
