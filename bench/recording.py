"""Benchmark of recording on SQLite against plain ``sqlite3`` with and without the full-text index.

Three variants, each in a process of its own (so its peak RSS is its own) on a fresh database
with the app's schema and pragmas (WAL, ``synchronous=FULL``), writing the same rows:

- ``recorder``: ``record_entries`` in calls of 10,000 entries, all in one transaction (bulk),
  then ``record_activity`` one event per transaction (one by one), as the app records. The
  full-text index follows the table (``TextIndex.follows``): after the bulk it is caught up
  at once and timed on its own (``index_catch_up_events_per_s``; bytes are counted after it),
  and during the one-by-one writes the app's background thread indexes them as it would;
- ``plain``: plain ``sqlite3``, the same statements and rows, the full-text index dropped;
- ``plain_index``: the same, the index and its triggers kept (one index insert per row);
- ``plain_index_batch``: the same, each chunk's index rows written by one ``INSERT … SELECT``
  (the insert trigger dropped in the transaction and made again): the floor with the index.

Prints ONE JSON object: events/s, the recorder's ratio to each floor, bytes per event, peak RSS.

    .venv/bin/python -m bench.recording                    # 100,000 events, 3 runs
    .venv/bin/python -m bench.recording --events 1000000 --runs 1 --skip plain_index
"""

import argparse
import json
import os
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench import harness

log = harness.logger("recording")

VARIANTS = ("plain", "plain_index", "plain_index_batch", "recorder")
CALL = 10_000  # entries per record_entries call (bulk)
INDEX = "activity_search"
INDEX_ROWS = (
    f"INSERT INTO {INDEX} (rowid, actor_name, action, object_type, object_label, target_label,"
    " summary, changes, day, actor) SELECT id, actor_name, action, object_type, object_label,"
    " target_label, summary, changes, replace(substr(occurred_at, 1, 10), '-', ''),"
    " 'a' || actor_id FROM activity_event WHERE id BETWEEN ? AND ?"
)


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="bulk events")
    parser.add_argument("--single", type=int, default=2000, help="one-by-one events (timed)")
    parser.add_argument("--runs", type=int, default=3, help="rounds of the three variants")
    parser.add_argument(
        "--skip", action="append", default=[], choices=VARIANTS[:-1], help="leave a floor out"
    )
    parser.add_argument(
        "--synchronous", choices=("full", "normal"), default="full", help="every variant's"
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build_rows(app, events):
    """Return ``(actors, everyone, entries, rows)`` of ``events`` random events built by the
    recorder's own ``build_entry`` (so every variant writes the same text)."""
    from bench import stream
    from core.db import utcnow
    from core.events import Ref
    from core.events import build_entry
    from core.events.recorder import _row_values

    rng = random.Random(7)
    with app.app_context():
        actors, teams_of = stream.seed_users()
        everyone = stream.everyone_of(actors)
        start = utcnow() - timedelta(days=90)
        entries = []
        for position in range(events):
            actor = rng.choice(actors)
            verb, obj, changes, target, audience, summary = stream.event_inputs(
                rng, teams_of.get(actor.id, ()), everyone
            )
            entries.append(
                build_entry(
                    Ref("user", actor.id, actor.name),
                    verb,
                    obj,
                    changes,
                    target,
                    audience,
                    summary,
                    occurred_at=start + timedelta(seconds=position * 60),
                )
            )
    rows = [_row_values(entry["row"]) for entry in entries]
    return actors, everyone, entries, rows


def child(args):
    """Run one variant and print its JSON line."""
    from core import checkpointer
    from core.db import SQLITE_PRAGMAS
    from core.db import database
    from core.events.recorder import AUDIENCE
    from core.events.recorder import EVENTS
    from core.events.recorder import ROW_COLUMNS

    SQLITE_PRAGMAS["synchronous"] = args.synchronous  # the app's connections read it too
    workdir = Path(args.workdir)
    path = workdir / "recording.db"
    app = harness.build_app(f"sqlite:///{path}", workdir)
    actors, everyone, entries, rows = build_rows(app, args.events)
    result = {"variant": args.child, "events": args.events}
    harness.close_database()
    with sqlite3.connect(path) as connection:
        if args.child == "plain":
            for trigger in ("insert", "delete", "update"):
                connection.execute(f"DROP TRIGGER {INDEX}_{trigger}")
            connection.execute(f"DROP TABLE {INDEX}")
            connection.commit()
            connection.execute("VACUUM")
        elif args.child != "recorder":  # each row indexed by its insert, as before it followed
            (trigger,) = connection.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (f"{INDEX}_insert",)
            ).fetchone()
            connection.execute(f"DROP TRIGGER {INDEX}_insert")
            connection.execute(re.sub(r" WHEN new\.id <= \(.*?\) BEGIN", " BEGIN", trigger))
            # No position: no background catch-up in this process writes the index twice.
            connection.execute("DELETE FROM text_index_position")
            connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_before = _size(path)
    rng = random.Random(11)
    if args.child == "recorder":
        from flask import g

        from bench import stream
        from core.events import record_activity
        from core.events import record_entries
        from core.search.index import catch_up_now

        with app.app_context():
            database.connect(reuse_if_open=True)
            began = time.perf_counter()
            with database.atomic():
                for first in range(0, len(entries), CALL):
                    record_entries(entries[first : first + CALL])
            result["bulk_events_per_s"] = round(len(entries) / (time.perf_counter() - began))
            began = time.perf_counter()
            catch_up_now()
            result["index_catch_up_events_per_s"] = round(
                len(entries) / (time.perf_counter() - began)
            )
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            result["bytes_per_event"] = round((_size(path) - size_before) / len(entries))
            result["peak_rss_mb_bulk"] = _peak_mb()
            samples = []
            with app.test_request_context(
                "/stream/activity",
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
                headers={"User-Agent": "activity-bench/1.0"},
            ):
                warm_until = time.monotonic() + 2 * checkpointer.EVERY_SECONDS
                while len(samples) < args.single:
                    actor = rng.choice(actors)
                    verb, obj, changes, target, audience, summary = stream.event_inputs(
                        rng, (), everyone
                    )
                    t0 = time.perf_counter_ns()
                    g.request_id = uuid.uuid4().hex
                    with database.atomic():
                        record_activity(actor, verb, obj, changes, target, audience, summary)
                    if time.monotonic() >= warm_until:
                        samples.append(time.perf_counter_ns() - t0)
            database.close()
    else:
        connection = sqlite3.connect(path, isolation_level=None)
        for name, value in SQLITE_PRAGMAS.items():
            connection.execute(f"PRAGMA {name} = {value}")
        running = checkpointer.Checkpointer(str(path), checkpointer.EVERY_SECONDS).start()
        event_sql = (
            f"INSERT INTO {EVENTS} (id, {', '.join(ROW_COLUMNS)}) "
            f"VALUES ({', '.join(['?'] * (len(ROW_COLUMNS) + 1))})"
        )
        audience_sql = f"INSERT INTO {AUDIENCE} (event_id, party) VALUES (?, ?)"
        last = connection.execute(f"SELECT COALESCE(MAX(id), 0) FROM {EVENTS}").fetchone()[0]
        began = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        for first in range(0, len(entries), CALL):
            ids = range(last + first + 1, last + first + 1 + len(rows[first : first + CALL]))
            chunk = rows[first : first + CALL]
            batched = args.child == "plain_index_batch"
            if batched:
                (trigger,) = connection.execute(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (f"{INDEX}_insert",)
                ).fetchone()
                connection.execute(f"DROP TRIGGER {INDEX}_insert")
            connection.executemany(
                event_sql, [(i, *row) for i, row in zip(ids, chunk, strict=True)]
            )
            if batched:
                connection.execute(INDEX_ROWS, (ids[0], ids[-1]))
                connection.execute(trigger)
            connection.executemany(
                audience_sql,
                [
                    (i, party)
                    for i, entry in zip(ids, entries[first : first + CALL], strict=True)
                    for party in entry["parties"]
                ],
            )
        connection.execute("COMMIT")
        result["bulk_events_per_s"] = round(len(entries) / (time.perf_counter() - began))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        result["bytes_per_event"] = round((_size(path) - size_before) / len(entries))
        result["peak_rss_mb_bulk"] = _peak_mb()
        samples = []
        warm_until = time.monotonic() + 2 * checkpointer.EVERY_SECONDS
        while len(samples) < args.single:
            entry = entries[rng.randrange(len(entries))]
            row = _row_values_with_request(entry["row"], ROW_COLUMNS)
            t0 = time.perf_counter_ns()
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                "SELECT team_id FROM team_membership WHERE user_id = ?", (row[1] or 1,)
            ).fetchall()
            (new,) = connection.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {EVENTS}").fetchone()
            connection.execute(event_sql, (new, *row))
            connection.executemany(audience_sql, [(new, party) for party in entry["parties"]])
            connection.execute("COMMIT")
            if time.monotonic() >= warm_until:
                samples.append(time.perf_counter_ns() - t0)
        running.stop()
        connection.close()
    result["single_events_per_s"] = round(len(samples) / (sum(samples) / 1e9))
    result["single_median_ms"] = round(statistics.median(samples) / 1e6, 3)
    result["rss_mb_before_writes"] = round(rss_before, 1)
    result["peak_rss_mb"] = _peak_mb()
    print(json.dumps(result))


def _row_values_with_request(row, columns):
    values = dict(row, ip="127.0.0.1", user_agent="activity-bench/1.0", request_id=uuid.uuid4().hex)
    return [values.get(column) for column in columns]


def _size(path):
    return sum(
        p.stat().st_size for p in path.parent.glob(path.name + "*") if p.name != path.name + "-shm"
    )


def _peak_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv=None):
    """Run the rounds, each variant in a child process, and print the JSON summary."""
    args = parse_args(argv)
    if args.child:
        child(args)
        return
    runs = []
    loads = [os.getloadavg()[0]]
    for number in range(args.runs):
        measured = {}
        for variant in [v for v in VARIANTS if v not in args.skip]:
            with tempfile.TemporaryDirectory(prefix="recording-") as workdir:
                log(f"run {number + 1}: {variant}")
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.recording",
                        "--child",
                        variant,
                        "--workdir",
                        workdir,
                        "--events",
                        str(args.events),
                        "--single",
                        str(args.single),
                        "--synchronous",
                        args.synchronous,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                measured[variant] = json.loads(done.stdout.strip().splitlines()[-1])
            loads.append(os.getloadavg()[0])
        ours = measured["recorder"]
        for floor in [v for v in VARIANTS[:-1] if v not in args.skip]:
            for kind in ("bulk", "single"):
                measured[f"{kind}_vs_{floor}"] = round(
                    ours[f"{kind}_events_per_s"] / measured[floor][f"{kind}_events_per_s"], 2
                )
            measured[f"bytes_vs_{floor}"] = round(
                ours["bytes_per_event"] / measured[floor]["bytes_per_event"], 2
            )
        runs.append(measured)
        log(json.dumps({k: v for k, v in measured.items() if "_vs_" in k}))
    print(
        json.dumps(
            {
                "git": harness.git_state(),
                "synchronous": args.synchronous,
                "load_1m": [round(x, 2) for x in loads],
                "runs": runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
