"""What SQLite itself costs for the recorder's writes, without the application around them.

Copies the seeded bench database and writes to the copy with plain ``sqlite3``: the same
statements, pragmas, indexes and background checkpointer as the recorder, but with rows built
up front (bulk) or by a few lines of plain Python (one by one). The gap between these numbers
and the recorder's is what the application adds; these numbers are the floor of this schema on
this machine.

Used by ``bench.activity`` and ``bench.search`` (``measure``); not run on its own.
"""

import os
import random
import shutil
import sqlite3
import statistics
import time
import uuid
from datetime import datetime
from datetime import timedelta

from core import checkpointer
from core.db import SQLITE_PRAGMAS
from core.events.recorder import ROW_COLUMNS

VERBS = [
    f"{kind}.{action}"
    for kind in ("document", "task", "company", "project")
    for action in ("created", "updated", "deleted", "commented")
]


def measure(database_path, workdir, bulk_events=100_000, batch=10_000, one_by_one=2000):
    """Return the plain-sqlite3 rates (events/s) of bulk and one-by-one writes on a copy."""
    copy = workdir / "floor.db"
    shutil.copyfile(database_path, copy)
    os.sync()  # the copy's dirty pages would otherwise be written back during the timings
    connection = sqlite3.connect(copy, isolation_level=None)
    for name, value in SQLITE_PRAGMAS.items():
        connection.execute(f"PRAGMA {name} = {value}")
    running = checkpointer.Checkpointer(str(copy), checkpointer.EVERY_SECONDS).start()
    try:
        rng = random.Random(7)
        bulk = _bulk(connection, rng, bulk_events, batch)
        single, single_median_ms = _one_by_one(connection, rng, one_by_one)
    finally:
        running.stop()
        connection.close()
        copy.unlink()
        for suffix in ("-wal", "-shm"):
            copy.with_name(copy.name + suffix).unlink(missing_ok=True)
    return {
        "what": "plain sqlite3 on a copy: same statements, pragmas, indexes and checkpointer",
        "bulk_events": bulk_events,
        "bulk_batch": batch,
        "bulk_events_per_s": bulk,
        "one_by_one_events": one_by_one,
        "one_by_one_events_per_s": single,
        "one_by_one_median_ms": single_median_ms,
    }


def _event_sql():
    return (
        f"INSERT INTO activity_event (id, {', '.join(ROW_COLUMNS)}) "
        f"VALUES ({', '.join(['?'] * (len(ROW_COLUMNS) + 1))})"
    )


AUDIENCE_SQL = "INSERT INTO activity_audience (event_id, party) VALUES (?, ?)"


def event_row(rng, event_id, moment, request_id=None):
    """Return one event row (id first, then ``ROW_COLUMNS``) and its 2-3 audience parties;
    with a ``request_id``, the request context too (as a live request records)."""
    actor = rng.randrange(1, 200)
    verb = rng.choice(VERBS)
    kind, action = verb.split(".")
    number = rng.randrange(1, 1250)
    values = {
        "occurred_at": moment.isoformat(" "),
        "actor_id": actor,
        "actor_name": f"Bench Actor {actor:03d}",
        "actor_role": "Teammate",
        "verb": verb,
        "action": action,
        "object_type": kind,
        "object_id": str(number),
        "object_label": f"{kind.capitalize()} {number:04d}",
        "summary": "status open → done" if action == "updated" else "",
        "changes": '{"status": ["open", "done"]}' if action == "updated" else None,
    }
    if request_id:
        values.update(ip="127.0.0.1", user_agent="activity-bench/1.0", request_id=request_id)
    parties = {2 * actor, 2 * (actor % 3) + 1}
    if rng.random() < 0.5:
        parties.add(2 * rng.randrange(1, 220))
    row = (event_id, *[values.get(column) for column in ROW_COLUMNS])
    return row, [(event_id, party) for party in parties]


def _bulk(connection, rng, events, batch):
    last = connection.execute("SELECT MAX(id) FROM activity_event").fetchone()[0] or 0
    start = datetime(2026, 1, 1)
    rows, parties = [], []
    for offset in range(1, events + 1):
        row, audience = event_row(rng, last + offset, start + timedelta(seconds=offset))
        rows.append(row)
        parties.append(audience)
    event_sql = _event_sql()
    began = time.perf_counter()
    for first in range(0, events, batch):
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(event_sql, rows[first : first + batch])
        connection.executemany(
            AUDIENCE_SQL, [pair for audience in parties[first : first + batch] for pair in audience]
        )
        connection.execute("COMMIT")
    return round(events / (time.perf_counter() - began))


def _one_by_one(connection, rng, count):
    event_sql = _event_sql()
    samples = []
    warm_until = time.monotonic() + 2 * checkpointer.EVERY_SECONDS
    while len(samples) < count:
        began = time.perf_counter_ns()
        connection.execute("BEGIN IMMEDIATE")
        actor = rng.randrange(1, 200)
        connection.execute(
            "SELECT team_id FROM team_membership WHERE user_id = ?", (actor,)
        ).fetchall()
        last = connection.execute("SELECT COALESCE(MAX(id), 0) FROM activity_event").fetchone()
        row, audience = event_row(rng, last[0] + 1, datetime.now(), uuid.uuid4().hex)
        connection.execute(event_sql, row)
        connection.executemany(AUDIENCE_SQL, audience)
        connection.execute("COMMIT")
        if time.monotonic() >= warm_until:
            samples.append(time.perf_counter_ns() - began)
    return round(count / (sum(samples) / 1e9)), round(statistics.median(samples) / 1e6, 3)
