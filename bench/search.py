"""Benchmark of search on the Activity tab: every target, each beside the plain-driver floor
of the same SQL (``sqlite3`` or ``psycopg2``), in one JSON object on stdout (progress on stderr).

Seeds (or, with ``--reuse``, reuses) the Activity bench database through the real bulk path
(``bench.stream``, as ``bench.activity`` does: 200 actors, 5,000 objects, 90 days, the
full-text index caught up after it, as a server's background thread keeps it; with
``--behind N``, N events more that it has not taken in), then measures:

- each search's first page (parse + ``FEED.page`` + the rows' names and links, as the rows
  fragment computes it) and the capped count, and the same SQL run by the plain driver on
  its own connection: the page's main statement alone (``page_sql_floor_ms``) and every
  statement the page ran, in order (``page_statements_floor_ms``), the same for the count;
  the plain pages (first, filtered, deep, one object's history, a Teammate's ``related``
  page) the same way, and the capped count of one actor's last 30 days;
- the plan of each page's main statement (on PostgreSQL ``EXPLAIN ANALYZE``: what it read);
- the bulk path against plain ``sqlite3`` writing the same rows into the same schema (a copy);
- one-by-one recording with the index and, on the same database, interleaved, without it.

    .venv/bin/python -m bench.search                           # 1,000,000 events, temp dir
    .venv/bin/python -m bench.search --keep /tmp/search-bench  # keep the database
    .venv/bin/python -m bench.search --keep /tmp/search-bench --reuse
    .venv/bin/python -m bench.search --events 100000 --database-url postgresql://…
    .venv/bin/python -m bench.search --database-url postgresql://…/kept --reuse --searches-only
    .venv/bin/python -m bench.search --keep /tmp/search-bench --reuse --searches-only --behind 500

A benchmark, not a test: a missed target is ``"pass": false``, the exit code stays 0.
"""

import argparse
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

import peewee
import psycopg2
from flask import request
from werkzeug.datastructures import MultiDict

from bench import harness
from bench import sqlite_floor
from bench import stream
from core import checkpointer
from core.db import POSTGRES_OPTIONS
from core.db import SQLITE_PRAGMAS
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events import ActivityEvent
from core.events import Ref
from core.events import build_entry
from core.events import record_entries
from core.evidence import guard
from core.listing.feed import parse_cursor
from core.people import Role
from core.people import User
from core.search.matching import FUNCTION
from core.search.matching import words_match
from plugins.activity import views
from plugins.activity.index import INDEX

TARGETS_MS = {"page_median_ms": 5.0, "count_median_ms": 2.0}
PG_TARGETS_MS = {"page_median_ms": 5.0, "count_median_ms": 5.0}
PAGE_TO_FLOOR = 1.5  # a page against its statements run by the plain driver (PostgreSQL)
ACTOR_MONTH_COUNT_TO_FLOOR = 3.0  # an actor's last 30 days, counted, against its plain SQL
BULK_RATIO = 0.8  # the recorder's bulk path against plain sqlite3 on the same schema
ONE_BY_ONE_LOSS = 0.15  # what the index may cost one-by-one recording


log = harness.logger("search-bench")


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a SQLite file in the work directory")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--reuse", action="store_true", help="use the events already there")
    parser.add_argument("--repeat", type=int, default=100, help="runs of each search")
    parser.add_argument("--record-events", type=int, default=1000, help="per arm, one by one")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--behind",
        type=int,
        default=0,
        help="SQLite: record this many events more, the full-text index kept from taking them"
        " in, so every search checks them one by one (a server under writes between catch-ups)",
    )
    parser.add_argument(
        "--searches-only", action="store_true", help="skip the bulk and one-by-one writing"
    )
    return parser.parse_args(argv)


def scenarios(actor):
    """Return the searches measured: ``{name: query string}``, each a target of the issue."""
    today = utcnow().date()
    first, last = today - timedelta(days=66), today - timedelta(days=60)
    return {
        "common_word": {"q": "task"},  # a word in a quarter of all events (and a 4-letter prefix)
        "common_word_whole": {"q": '"task"'},  # the same word, whole (no prefix)
        "rare_word": {"q": "0042"},  # one object's label: about 200 events
        "task_0042": {"q": "Task 0042"},
        "prefix": {"q": "loo"},  # "Looks good to me."
        "word_and_actor": {"q": f'actor:"{actor.name}" done'},
        "phrase": {"q": '"move this to next week"'},
        "week_60_days_back": {"q": f"created:{first}..{last}"},
        "week_60_days_back_from_to": {"from": str(first), "to": str(last)},
        "type_alone": {"q": "type:task"},
    }


def plain_pages(app, actor):
    """Return the plain pages measured: ``{name: (viewer email, query string)}``."""
    with app.app_context():
        ids = ActivityEvent.select(ActivityEvent.id).order_by(ActivityEvent.id.desc())
        deep_cursor = ids.offset(DEEP_ROWS - 1).limit(1).scalar()
    return {
        "first_page": (stream.ADMIN_EMAIL, {}),
        "filtered_page": (stream.ADMIN_EMAIL, {"actor": actor.id, "verb": "task.updated"}),
        "deep_page": (stream.ADMIN_EMAIL, {"after": deep_cursor}),
        "object_history": (stream.ADMIN_EMAIL, {"object": "task:17"}),
        "scoped_page": (stream.TEAMMATE_EMAIL, {}),
    }


DEEP_ROWS = 20_000


class Floor:
    """The plain driver on a connection of its own: the same statements, timed."""

    def __init__(self, target):
        if isinstance(target, Path):
            self.connection = sqlite3.connect(target)
            for name, value in SQLITE_PRAGMAS.items():
                self.connection.execute(f"PRAGMA {name} = {value}")
            # The rows the index has not taken in yet (``--behind``) are checked with it.
            self.connection.create_function(FUNCTION, -1, words_match, deterministic=True)
            self.postgres = False
        else:
            # The app's session settings (no JIT), so both run the same statements alike.
            self.connection = psycopg2.connect(target, options=POSTGRES_OPTIONS)
            self.connection.autocommit = True
            self.postgres = True

    def ms(self, statements, repeat):
        """Return the median ms of running ``statements`` (``[(sql, params)]``) in order."""
        cursor = self.connection.cursor()
        samples = []
        for run in range(repeat + 5):
            began = time.perf_counter_ns()
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()
            if run >= 5:
                samples.append(time.perf_counter_ns() - began)
        return round(statistics.median(samples) / 1e6, 3)

    def plan(self, sql, params):
        """Return the plan of ``sql`` as run: PostgreSQL's ``EXPLAIN ANALYZE`` (rows read,
        rows removed by filters), SQLite's ``EXPLAIN QUERY PLAN``."""
        cursor = self.connection.cursor()
        if self.postgres:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params)
            return [row[0] for row in cursor.fetchall()]
        return [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params)]

    def close(self):
        """Close the connection."""
        self.connection.close()


def captured(app, call):
    """Run ``call()`` in a fresh request context; return the statements it ran."""
    context = app.test_request_context("/stream/activity")
    with app.app_context(), context, stream.SqlCapture() as capture:
        call()
    return [(sql, tuple(params or ())) for sql, params, _ in capture.statements]


def time_count(app, viewer, args, repeat):
    """Return the median ms of the capped count of a search, the count and its statements."""
    samples = []
    for run in range(repeat + 5):
        with app.app_context(), app.test_request_context("/stream/activity"):
            began = time.perf_counter_ns()
            count = views.FEED.total(viewer, views.FEED.filters_of(MultiDict(args), viewer))
            if run >= 5:
                samples.append(time.perf_counter_ns() - began)

    def total():
        views.FEED.total(viewer, views.FEED.filters_of(MultiDict(args), viewer))

    return round(statistics.median(samples) / 1e6, 3), count, captured(app, total)


def _main_statement(statements):
    """Return the page's own statement: the one reading events with a LIMIT."""
    return next(
        (s for s in statements if "LIMIT" in s[0] and "activity_event" in s[0]), statements[-1]
    )


def measure(app, floor, name, viewer, args, repeat, count=True):
    """Time one page (and its capped count) beside the plain driver running its SQL."""
    page = stream.time_page(app, name, viewer, args, repeat)

    def server():
        filters = stream.parse_filters(request.args)
        rows, cursor = views.FEED.page(viewer, filters, after=parse_cursor(request.args))
        views.FEED.rows_context(viewer, request.args, rows, cursor)

    path = "/stream/activity/rows?" + urlencode(args)
    context = app.test_request_context(path, headers={"HX-Request": "true"})
    with app.app_context(), context, stream.SqlCapture() as capture:
        server()
    statements = [(sql, tuple(params or ())) for sql, params, _ in capture.statements]
    main = _main_statement(statements)
    entry = {
        "query": args.get("q", args),
        "rows": page["rows"],
        "page_median_ms": page["median_ms"],
        "page_p95_ms": page["p95_ms"],
        "page_query_only_ms": page["query_only"]["median_ms"],
        "page_cpu_median_ms": page["cpu_median_ms"],
        "page_statements": len(statements),
        "page_sql_floor_ms": floor.ms([main], repeat),
        "page_statements_floor_ms": floor.ms(statements, repeat),
        "page_sql": main[0],
        "plan": floor.plan(*main),
    }
    if count:
        count_ms, total, count_statements = time_count(app, viewer, args, repeat)
        entry.update(
            count=total,
            count_median_ms=count_ms,
            count_statements=len(count_statements),
            count_sql_floor_ms=floor.ms([count_statements[-1]], repeat),
            count_statements_floor_ms=floor.ms(count_statements, repeat),
            count_plan=floor.plan(*count_statements[-1]),
        )
    log(
        f"{name}: page {entry['page_median_ms']} ms (SQL {entry['page_sql_floor_ms']}, "
        f"all {entry['page_statements']} statements {entry['page_statements_floor_ms']}), "
        f"count {entry.get('count_median_ms')} ms (SQL {entry.get('count_sql_floor_ms')})"
    )
    return entry


def measure_searches(app, floor, viewer, actor, repeat):
    """Time every search's first page and capped count, each with its plain-driver floor."""
    return {
        name: measure(app, floor, name, viewer, args, repeat)
        for name, args in scenarios(actor).items()
    }


def measure_pages(app, floor, actor, repeat):
    """Time the plain pages, and the capped count of one actor's last 30 days."""
    results = {}
    for name, (email, args) in plain_pages(app, actor).items():
        with app.app_context():
            viewer = User.select(User, Role).join(Role).where(User.email == email).get()
        results[name] = measure(app, floor, name, viewer, args, repeat, count=False)
    today = utcnow().date()
    month = {"actor": actor.id, "from": str(today - timedelta(days=29)), "to": str(today)}
    with app.app_context():
        admin = User.select(User, Role).join(Role).where(User.email == stream.ADMIN_EMAIL).get()
    results["actor_last_30_days"] = measure(app, floor, "actor_last_30_days", admin, month, repeat)
    return results


def one_by_one_with_and_without_index(app, count, actors, everyone, rng):
    """Record ``count`` events one by one with the index and ``count`` without, in blocks
    taken in turn (this machine's speed drifts), on the same database. The events recorded
    without the index are deleted again (before the triggers come back), so the index stays
    whole and no catch-up merge lands in the next block."""
    blocks = 5
    with_index, without_index = [], []
    for _ in range(blocks):
        with_index.append(stream.record_one_by_one(app, count // blocks, actors, everyone, rng))
        with app.app_context():
            newest = ActivityEvent.select(peewee.fn.MAX(ActivityEvent.id)).scalar()
            triggers = _drop_triggers()
        without_index.append(stream.record_one_by_one(app, count // blocks, actors, everyone, rng))
        with app.app_context(), database.atomic(), guard.permit():  # records are append-only
            database.execute_sql(f"DELETE FROM activity_audience WHERE event_id > {int(newest)}")
            database.execute_sql(f"DELETE FROM activity_event WHERE id > {int(newest)}")
            for sql in triggers:
                database.execute_sql(sql)

    def rate(runs):
        return round(sum(r["events"] for r in runs) / sum(r["seconds"] for r in runs))

    with_rate, without_rate = rate(with_index), rate(without_index)
    return {
        "events_per_arm": count,
        "with_index_events_per_s": with_rate,
        "without_index_events_per_s": without_rate,
        "loss": round(1 - with_rate / without_rate, 3),
        "with_index_median_ms": statistics.median(r["per_event_median_ms"] for r in with_index),
        "without_index_median_ms": statistics.median(
            r["per_event_median_ms"] for r in without_index
        ),
    }


def _drop_triggers():
    """Drop the index's triggers; return the statements that create them again."""
    rows = database.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
        (f"{INDEX.name}_%",),
    ).fetchall()
    for name, _ in rows:
        database.execute_sql(f"DROP TRIGGER {name}")
    return [sql for _, sql in rows]


def bulk_against_floor(app, path, workdir, actors, teams_of, everyone, rng, events=50_000):
    """Return the recorder's bulk rate and plain sqlite3's on a copy of the same database (same
    schema, triggers included), ``events`` each, in two rounds taken in turn (merges of the
    index and this machine's speed come and go)."""
    recorder_s = floor_s = 0.0
    rounds = []
    for round_number in (1, 2):
        log(f"bulk, round {round_number}: {events:,} events through the recorder")
        with app.app_context():
            recorder = stream.bulk_ingest(events, actors, teams_of, everyone, rng)
        log(f"bulk, round {round_number}: {events:,} events with plain sqlite3 on a copy")
        floor = sqlite_floor.measure(path, workdir, bulk_events=events, one_by_one=200)
        recorder_s += events / recorder["events_per_s"]
        floor_s += events / floor["bulk_events_per_s"]
        rounds.append([recorder["events_per_s"], floor["bulk_events_per_s"]])
    return {
        "events_per_round": events,
        "rounds_recorder_and_floor_events_per_s": rounds,
        "recorder_events_per_s": round(2 * events / recorder_s),
        "floor_events_per_s": round(2 * events / floor_s),
        "ratio": round(floor_s / recorder_s, 3),
    }


def evaluate(result):
    """Return one line per target: name, measured, limit, floor, the plan, pass."""
    lines = []
    postgres = result["config"]["database"] == "postgresql"
    targets = PG_TARGETS_MS if postgres else TARGETS_MS
    measured = {**result["searches"], **result.get("pages", {})}
    for name, entry in measured.items():
        reported = name in ("common_word_whole", "phrase") and not postgres
        for key, limit in targets.items():
            if reported or key not in entry:
                continue
            floor = entry.get(key.replace("median_ms", "sql_floor_ms"))
            lines.append(
                {
                    "name": f"{name}.{key}",
                    "value": entry[key],
                    "limit": limit,
                    "floor_ms": floor,
                    "plan": entry["plan" if key.startswith("page") else "count_plan"],
                    "pass": entry[key] <= limit,
                }
            )
        if postgres and "page_median_ms" in entry:
            floor = entry["page_statements_floor_ms"]
            lines.append(
                {
                    "name": f"{name}.page_to_floor",
                    "value": round(entry["page_median_ms"] / floor, 2),
                    "limit": PAGE_TO_FLOOR,
                    "floor_ms": floor,
                    "pass": entry["page_median_ms"] <= PAGE_TO_FLOOR * floor,
                }
            )
    month = measured.get("actor_last_30_days")
    if month:
        ratio = month["count_median_ms"] / month["count_statements_floor_ms"]
        lines.append(
            {
                "name": "actor_last_30_days.count_to_floor",
                "value": round(ratio, 2),
                "limit": ACTOR_MONTH_COUNT_TO_FLOOR,
                "floor_ms": month["count_statements_floor_ms"],
                "plan": month["count_plan"],
                "pass": ratio <= ACTOR_MONTH_COUNT_TO_FLOOR,
            }
        )
    bulk = result.get("bulk")
    if bulk:
        lines.append(
            {
                "name": "bulk_ratio_to_floor",
                "value": bulk["ratio"],
                "limit": BULK_RATIO,
                "pass": bulk["ratio"] >= BULK_RATIO,
            }
        )
    single = result.get("one_by_one")
    if single:
        loss = single["loss"]
        lines.append(
            {
                "name": "one_by_one_loss",
                "value": loss,
                "limit": ONE_BY_ONE_LOSS,
                "pass": loss <= ONE_BY_ONE_LOSS,
            }
        )
    return lines


def _record_behind(count, actors, everyone, rng):
    """Record ``count`` events in one transaction, as the newest, left out of the index."""
    entries = []
    for _ in range(count):
        actor = rng.choice(actors)
        verb, obj, changes, target, audience, summary = stream.event_inputs(rng, (), everyone)
        refs = Ref("user", actor.id, actor.name)
        entries.append(build_entry(refs, verb, obj, changes, target, audience, summary))
    with database.atomic():
        record_entries(entries)


def run(args, workdir, result):
    """Seed or reuse, then measure everything, filling ``result``."""
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    path = Path(urlsplit(database_url).path[1:]) if database_url.startswith("sqlite") else None
    rng = random.Random(args.seed)
    result["config"] = {
        "events": args.events,
        "database_url": harness.redact(database_url),
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "git": harness.git_state(),
    }
    app = harness.build_app(database_url, workdir)
    with app.app_context():
        database.connect(reuse_if_open=True)
        actors, teams_of = stream.seed_users()
        everyone = stream.everyone_of(actors)
        existing = ActivityEvent.select().count()
        if existing and not args.reuse:
            raise RuntimeError(f"{existing:,} events already there: use --reuse")
        if not existing:
            log(f"seeding {args.events:,} events through the bulk path")
            result["seed"] = stream.bulk_ingest(args.events, actors, teams_of, everyone, rng)
        if is_sqlite():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # What autovacuum does after a bulk load: statistics, and the visibility map that
            # lets an index-only scan skip the table.
            database.execute_sql("VACUUM ANALYZE activity_event")
            database.execute_sql("VACUUM ANALYZE activity_audience")
        if args.behind and is_sqlite():
            checkpointer.stop()  # its thread would take them in
            log(f"recording {args.behind:,} events the index does not take in")
            _record_behind(args.behind, actors, everyone, rng)
            result["config"]["index_behind_by"] = args.behind
        result["config"]["total_events"] = ActivityEvent.select().count()
        result["config"]["database"] = "sqlite" if is_sqlite() else "postgresql"
        admin = User.select(User, Role).join(Role).where(User.email == stream.ADMIN_EMAIL).get()
        os.sync()
        database.close()
    floor = Floor(path or database_url)
    try:
        result["searches"] = measure_searches(app, floor, admin, actors[7], args.repeat)
        result["pages"] = measure_pages(app, floor, actors[7], args.repeat)
    finally:
        floor.close()
    if path and not args.searches_only:
        result["one_by_one"] = one_by_one_with_and_without_index(
            app, args.record_events, actors, everyone, rng
        )
        result["bulk"] = bulk_against_floor(app, path, workdir, actors, teams_of, everyone, rng)
    result["targets"] = evaluate(result)
    result["missed"] = [line["name"] for line in result["targets"] if not line["pass"]]


def main(argv=None):
    """Run the benchmark and print its JSON (exit 1 only on an error)."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "search-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
