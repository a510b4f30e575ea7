"""What PostgreSQL itself costs for the recorder's writes, without the application around them.

Writes into the bench database's own tables with plain ``psycopg2``: bulk through ``COPY``
(the caller's rows, built up front by the application as its bulk path builds them, so the
index takes in the same text; ids from the sequence and each row encoded to COPY's text
format as the recorder encodes it, both timed), and one by one (BEGIN, the marker and the
event with its audience in one statement, COMMIT). Same schema, indexes and triggers as the
recorder's writes; the floor's rows are deleted at the end. The gap between these numbers and
the recorder's is what the application adds.

Used by ``bench.activity`` on PostgreSQL (``measure``); not run on its own.
"""

import io
import random
import statistics
import time
from datetime import datetime

import psycopg2

from bench.sqlite_floor import event_row
from core.events.recorder import ROW_COLUMNS
from core.evidence.guard import PRUNE
from core.records import copy_text


def measure(dsn, bulk_rows, batch=10_000, one_by_one=2000):
    """Return the plain-psycopg2 rates (events/s) of COPY bulk and one-by-one writes.

    ``bulk_rows``: ``(values in ROW_COLUMNS order, parties)`` per event
    (``bench.stream.entry_rows``)."""
    bulk_events = len(bulk_rows)
    connection = psycopg2.connect(dsn)
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM activity_event")
    first_id = cursor.fetchone()[0] + 1
    try:
        rng = random.Random(11)
        bulk = _bulk(cursor, bulk_rows, batch)
        single, single_median_ms = _one_by_one(cursor, rng, one_by_one)
    finally:
        # The record tables refuse deletions but a prune's: the floor's rows go under a permit.
        connection.autocommit = False
        cursor.execute("INSERT INTO prune_permit (holder) VALUES (%s)", (PRUNE,))
        cursor.execute("DELETE FROM activity_audience WHERE event_id >= %s", (first_id,))
        cursor.execute("DELETE FROM activity_event WHERE id >= %s", (first_id,))
        cursor.execute("DELETE FROM prune_permit")
        connection.commit()
        connection.close()
    return {
        "what": "plain psycopg2 on the bench tables: COPY of the bulk path's own rows in batches"
        " (ids and encoding timed), and one by one",
        "bulk_events": bulk_events,
        "bulk_batch": batch,
        "bulk_events_per_s": bulk,
        "one_by_one_events": one_by_one,
        "one_by_one_events_per_s": single,
        "one_by_one_median_ms": single_median_ms,
    }


def _bulk(cursor, bulk_rows, batch):
    events = len(bulk_rows)
    event_copy = f"COPY activity_event (id, {', '.join(ROW_COLUMNS)}) FROM STDIN"
    began = time.perf_counter()
    for first in range(0, events, batch):
        chunk = bulk_rows[first : first + batch]
        cursor.execute("BEGIN")
        cursor.execute(
            "SELECT nextval('activity_event_id_seq') FROM generate_series(1, %s)", (len(chunk),)
        )
        ids = [row[0] for row in cursor.fetchall()]
        # Encoded as the recorder encodes (``copy_text``), so the floor's Python is no slower
        # than the application's.
        text = copy_text(
            [(event_id, *values) for event_id, (values, _) in zip(ids, chunk, strict=True)]
        )
        cursor.copy_expert(event_copy, io.StringIO(text))
        text = "".join(
            f"{event_id}\t{party}\n"
            for event_id, (_, parties) in zip(ids, chunk, strict=True)
            for party in parties
        )
        cursor.copy_expert("COPY activity_audience (event_id, party) FROM STDIN", io.StringIO(text))
        cursor.execute("COMMIT")
    return round(events / (time.perf_counter() - began))


def _one_by_one(cursor, rng, count):
    columns = ", ".join(ROW_COLUMNS)
    marks = ", ".join(["%s"] * len(ROW_COLUMNS))
    sql = (
        "SELECT pg_advisory_xact_lock_shared((1::bigint << 40)"
        " | (COALESCE(pg_sequence_last_value('activity_event_id_seq'), 0) + 1));"
        f" WITH event AS (INSERT INTO activity_event (id, {columns})"
        f" VALUES (nextval('activity_event_id_seq'), {marks}) RETURNING id)"
        " INSERT INTO activity_audience (event_id, party)"
        " SELECT event.id, party FROM event, unnest(%s::bigint[]) AS party"
    )
    samples = []
    for _ in range(count):
        row, audience = event_row(rng, 0, datetime.now(), "floor")
        began = time.perf_counter_ns()
        cursor.execute("BEGIN")
        cursor.execute(sql, (*row[1:], [party for _, party in audience]))
        cursor.execute("COMMIT")
        samples.append(time.perf_counter_ns() - began)
    return round(count / (sum(samples) / 1e9)), round(statistics.median(samples) / 1e6, 3)
