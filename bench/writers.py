"""Benchmark of concurrent writers: events/s, commit latency and the exactness of the poll.

Writer threads (or processes) record events through ``record_activity``, each in its own
transaction, optionally with 0–W ms of other work inside that transaction after the event is
recorded (the change it records, a slow validation…). Meanwhile a poller asks every 2 ms for
"events newer than the last id I saw" through the Activity tab's own query
(``visible_events(..., newer_than=...)``), as the "N new" banner does. At the end the poller
drains, and every committed id must have been seen exactly once.

Prints ONE JSON object on stdout (progress on stderr): a row per (backend, writers, work)
with events/s, commit latency p50/p99/max, the longest wait for the write lock on SQLite,
failed writes, and the poller's missed and duplicate counts.

    .venv/bin/python -m bench.writers                                 # both backends
    .venv/bin/python -m bench.writers --backends postgresql --writers 8 --work 0,3
    .venv/bin/python -m bench.writers --backends sqlite --processes 2  # 8 writers in 2 processes

PostgreSQL: a throwaway database on ``--postgres-url``'s server, dropped afterwards.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import random
import statistics
import threading
import time
from pathlib import Path

import psycopg2
from flask import g
from werkzeug.datastructures import MultiDict

from bench import harness
from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.people import User
from plugins.activity.filters import parse_filters
from plugins.activity.queries import visible_events

ADMIN_EMAIL = "admin@example.com"


log = harness.logger("writers-bench")


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--writers", default="1,2,4,8", help="writer counts, comma separated")
    parser.add_argument("--work", default="0,3", help="max ms of work in each transaction")
    parser.add_argument("--seconds", type=float, default=4.0, help="duration of each row")
    parser.add_argument(
        "--processes", type=int, default=1, help="SQLite: split the writers over N processes"
    )
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    return parser.parse_args(argv)


def build_app(database_url, workdir):
    """Build and migrate the app on ``database_url``; seed the demo people."""
    app = harness.build_app(database_url, workdir)
    harness.seed_demo_people(app)
    return app


def percentile(values, fraction):
    """Return the ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else None


def write_for(app, seconds, work_ms, seed, out):
    """Record events, one per transaction, for ``seconds``; append results to ``out``."""
    rng = random.Random(seed)
    committed, latencies, waits, failures = [], [], [], []
    with app.app_context():
        actor = User.get(User.email == ADMIN_EMAIL)
        actor.role  # noqa: B018 - loaded once, not per event
        began = time.time()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                with database.atomic():
                    waits.append(time.perf_counter() - started)
                    event = record_activity(actor, "task.updated", Ref("task", 1, "Bench"))
                    if work_ms:
                        time.sleep(rng.uniform(0, work_ms) / 1000)
                committed.append(event.id)
                latencies.append(time.perf_counter() - started)
            except Exception as error:  # counted: a failed write is a result here
                failures.append(repr(error)[:200])
        database.close()
    out.append(
        {
            "committed": committed,
            "latencies": latencies,
            "waits": waits,
            "failures": failures,
            "window": (began, time.time()),  # wall clock: comparable across processes
        }
    )


def _process_writers(database_url, workdir, threads, seconds, work_ms, seed, queue, barrier):
    """Run ``threads`` writers in this process (SQLite multi-process rows), all processes
    starting together once each has built its app."""
    app = build_app(database_url, Path(workdir))
    barrier.wait()
    out = []
    workers = [
        threading.Thread(target=write_for, args=(app, seconds, work_ms, seed + i, out))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(out)


def poll(app, stop, seen):
    """Ask for events newer than the last id seen every 2 ms until ``stop``, then drain."""
    with app.app_context():
        viewer = User.get(User.email == ADMIN_EMAIL)
        filters = parse_filters(MultiDict())
        last = max_existing(app)
        quiet = 0
        while True:
            ids = _newer_ids(viewer, filters, last)
            seen.extend(ids)
            if ids:
                last = max(ids)
            if stop.is_set():
                quiet = 0 if ids else quiet + 1
                if quiet >= 3:
                    break
            time.sleep(0.002)
        database.close()


def _newer_ids(viewer, filters, last):
    """Return the ids of the events newer than ``last``, through the tab's own query."""
    g.pop("commit_horizons", None)  # each poll is a request of its own
    query = visible_events(viewer, filters, columns=[ActivityEvent.id], newer_than=last, limit=500)
    return [row[0] for row in query.tuples()]


def max_existing(app):
    """Return the highest event id already committed."""
    return ActivityEvent.select(ActivityEvent.id).order_by(ActivityEvent.id.desc()).scalar() or 0


def run_row(app, database_url, workdir, writers, work_ms, seconds, processes):
    """Measure one (writers, work) row; return its numbers."""
    stop, seen = threading.Event(), []
    poller = threading.Thread(target=poll, args=(app, stop, seen))
    poller.start()
    time.sleep(0.05)
    results = []
    if processes > 1:
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        per_process = [writers // processes + (i < writers % processes) for i in range(processes)]
        per_process = [n for n in per_process if n]
        barrier = context.Barrier(len(per_process))
        children = [
            context.Process(
                target=_process_writers,
                args=(database_url, str(workdir), n, seconds, work_ms, 1000 * i, queue, barrier),
            )
            for i, n in enumerate(per_process)
        ]
        for child in children:
            child.start()
        for _ in children:
            results.extend(queue.get())
        for child in children:
            child.join()
    else:
        threads = [
            threading.Thread(target=write_for, args=(app, seconds, work_ms, i, results))
            for i in range(writers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # From the first writer's start to the last one's end (processes take a while to start).
    elapsed = max(r["window"][1] for r in results) - min(r["window"][0] for r in results)
    stop.set()
    poller.join()
    committed = [i for r in results for i in r["committed"]]
    latencies = [x for r in results for x in r["latencies"]]
    waits = [x for r in results for x in r["waits"]]
    failures = [x for r in results for x in r["failures"]]
    seen_set = set(seen)
    return {
        "writers": writers,
        "processes": processes,
        "work_ms": f"0-{work_ms}" if work_ms else "0",
        "events_per_s": round(len(committed) / elapsed),
        "events": len(committed),
        "commit_ms_p50": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "commit_ms_p99": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "commit_ms_max": round(max(latencies) * 1000, 1) if latencies else None,
        "lock_wait_ms_max": round(max(waits) * 1000, 1) if waits else None,
        "failed_writes": len(failures),
        "first_failure": failures[0] if failures else None,
        "poll_missed": len(set(committed) - seen_set),
        "poll_duplicates": len(seen) - len(seen_set),
    }


def postgres_floor(database_url, count=3000):
    """Plain psycopg2 doing one writer's work in the same schema: per event BEGIN, the
    marker, the event and its audience in one statement, COMMIT. What PostgreSQL itself costs
    on this machine for one-by-one recording."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    cursor = conn.cursor()
    columns = "occurred_at, actor_id, actor_name, actor_role, verb, action, object_type, object_id, object_label, summary"  # noqa: E501
    sql = (
        "SELECT pg_advisory_xact_lock_shared((1::bigint << 40)"
        " | (COALESCE(pg_sequence_last_value('activity_event_id_seq'), 0) + 1));"
        f" WITH event AS (INSERT INTO activity_event (id, {columns})"
        " VALUES (nextval('activity_event_id_seq'), now(), 1, 'Floor', 'Admin', 'task.updated',"
        " 'updated', 'task', '1', 'Bench', '') RETURNING id)"
        " INSERT INTO activity_audience (event_id, party)"
        " SELECT event.id, party FROM event, unnest(%s::bigint[]) AS party"
    )
    started = time.perf_counter()
    for _ in range(count):
        cursor.execute("BEGIN")
        cursor.execute(sql, ([2, 3],))
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return {"events_per_s": round(count / elapsed), "events": count}


def main(argv=None):
    """Run every row and print the JSON result."""
    args = parse_args(argv)
    writer_counts = [int(n) for n in args.writers.split(",")]
    works = [int(n) for n in args.work.split(",")]
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "rows": []}
    for backend in args.backends.split(","):
        with contextlib.ExitStack() as stack:
            workdir = stack.enter_context(harness.work_directory(None, "bench-writers-"))
            if backend == "sqlite":
                database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            else:
                database_url = stack.enter_context(
                    harness.throwaway_postgres(args.postgres_url, "bench_writers")
                )
            app = build_app(database_url, workdir)
            if backend == "postgresql":
                result["postgresql_floor_one_writer"] = postgres_floor(database_url)
                log(f"floor: {result['postgresql_floor_one_writer']}")
            for writers in writer_counts:
                for work_ms in works:
                    processes = args.processes if backend == "sqlite" else 1
                    row = run_row(
                        app, database_url, workdir, writers, work_ms, args.seconds, processes
                    )
                    row["backend"] = backend
                    log(json.dumps(row))
                    result["rows"].append(row)
    harness.print_json(result)


if __name__ == "__main__":
    main()
