"""What every recorder of an append-only list needs: ids in commit order, an all-or-nothing
write inside the caller's transaction, and the driver's fastest batch insert.

The event store (``core.events``), the sign-in log (``core.signins``) and each tab's own
records (the email outbox…) write through these three functions, so every list has the same
guarantees: a record commits with the change it records or not at all, and a reader asking for
"ids above the newest I saw" (the "N new" poll) never misses a record that committed late.
"""

import zlib
from contextlib import contextmanager

import psycopg2.extras

from core.db import database
from core.db import is_sqlite


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


def writer_lock_key(table):
    """Return the PostgreSQL advisory lock key that orders the writers of ``table``."""
    return 7_270_000_000 + zlib.crc32(table.encode())


def allocate_ids(table, count, cursor):
    """Reserve ``count`` new, increasing ids of ``table`` inside the current write transaction.

    SQLite: the transaction holds the write lock (BEGIN IMMEDIATE), so the next ids after the
    current maximum are ours. PostgreSQL: taken from the id sequence, with writers of this
    table queued on a transaction-scoped lock until they commit, so ids become visible in the
    order they were handed out (as BEGIN IMMEDIATE gives on SQLite): a reader polling for "ids
    above the newest I saw" can never miss a late commit.
    """
    if is_sqlite():
        last = cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
        return list(range(last + 1, last + count + 1))
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (writer_lock_key(table),))
    cursor.execute(
        f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
        f"FROM generate_series(1, {int(count)})"
    )
    return sorted(row[0] for row in cursor.fetchall())


def insert_many(cursor, table, columns, rows):
    """Insert ``rows`` (tuples in ``columns`` order) into ``table`` with the driver's batch call.

    sqlite3's ``executemany`` steps one prepared statement per row in C; psycopg2's sends one
    round trip per row, so PostgreSQL gets multi-row VALUES pages from ``execute_values``.
    """
    if not rows:
        return
    if is_sqlite():
        marks = ", ".join("?" * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    else:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s"
        psycopg2.extras.execute_values(cursor, sql, rows, page_size=len(rows))


def clip(text, limit):
    """Return ``text`` (None as empty) cut to ``limit`` characters, an ellipsis marking a cut."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
