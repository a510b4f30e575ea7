"""Benchmark of search on the Activity tab: every target of the search issue, each beside the
plain-``sqlite3`` floor of the same work, in one JSON object on stdout (progress on stderr).

Seeds (or, with ``--reuse``, reuses) the Activity bench database through the real bulk path
(``bench.stream``, as ``bench.activity`` does: 200 actors, 5,000 objects, 90 days, the
full-text index kept by its triggers), then measures:

- each search's first page (parse + ``FEED.page`` + the rows' names and links, as the rows
  fragment computes it) and the capped count, and the same SQL run by plain ``sqlite3``;
- the bulk path against plain ``sqlite3`` writing the same rows into the same schema (a copy);
- one-by-one recording with the index and, on the same database, interleaved, without it.

    .venv/bin/python -m bench.search                           # 1,000,000 events, temp dir
    .venv/bin/python -m bench.search --keep /tmp/search-bench  # keep the database
    .venv/bin/python -m bench.search --keep /tmp/search-bench --reuse
    .venv/bin/python -m bench.search --events 100000 --database-url postgresql://…

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
from urllib.parse import urlsplit

import peewee
from werkzeug.datastructures import MultiDict

from bench import harness
from bench import sqlite_floor
from bench import stream
from core.db import SQLITE_PRAGMAS
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events import ActivityEvent
from core.evidence import guard
from core.people import Role
from core.people import User
from plugins.activity import views
from plugins.activity.index import INDEX

TARGETS_MS = {"page_median_ms": 5.0, "count_median_ms": 2.0}
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
    return parser.parse_args(argv)


def scenarios(actor):
    """Return the searches measured: ``{name: query string}``, each a target of the issue."""
    today = utcnow().date()
    week = f"created:{today - timedelta(days=66)}..{today - timedelta(days=60)}"
    return {
        "common_word": {"q": "task"},  # a word in a quarter of all events (and a 4-letter prefix)
        "common_word_whole": {"q": '"task"'},  # the same word, whole (no prefix)
        "rare_word": {"q": "0042"},  # one object's label: about 200 events
        "prefix": {"q": "loo"},  # "Looks good to me."
        "word_and_actor": {"q": f'actor:"{actor.name}" done'},
        "phrase": {"q": '"move this to next week"'},
        "week_60_days_back": {"q": week},
        "type_alone": {"q": "type:task"},
    }


def floor_ms(path, sql, params, repeat):
    """Return the median ms of ``sql`` run by plain ``sqlite3`` (the same statement)."""
    connection = sqlite3.connect(path)
    for name, value in SQLITE_PRAGMAS.items():
        connection.execute(f"PRAGMA {name} = {value}")
    samples = []
    for run in range(repeat + 5):
        began = time.perf_counter_ns()
        connection.execute(sql, params).fetchall()
        if run >= 5:
            samples.append(time.perf_counter_ns() - began)
    connection.close()
    return round(statistics.median(samples) / 1e6, 3)


def time_count(app, viewer, args, repeat):
    """Return the median ms of the capped count of a search, its SQL and its parameters."""
    samples = []
    with app.test_request_context("/stream/activity"):
        filters = views.FEED.filters_of(MultiDict(args), viewer)
        ids = views.FEED.records(viewer, filters, columns=[ActivityEvent.id], limit=1001)
        limited = ids if not _ordered_by_id(ids) else ids.order_by()
        counted = ActivityEvent.select(peewee.fn.COUNT(peewee.SQL("*")))
        sql, params = counted.from_(limited.alias("capped")).sql()
    for run in range(repeat + 5):
        with app.app_context(), app.test_request_context("/stream/activity"):
            began = time.perf_counter_ns()
            count = views.FEED.total(viewer, views.FEED.filters_of(MultiDict(args), viewer))
            if run >= 5:
                samples.append(time.perf_counter_ns() - began)
    return round(statistics.median(samples) / 1e6, 3), count, sql, params


def _ordered_by_id(query):
    return all(getattr(o, "node", None) is ActivityEvent.id for o in query._order_by or ())


def measure_searches(app, path, viewer, actor, repeat):
    """Time every search's first page and capped count, each with its plain-sqlite3 floor."""
    results = {}
    for name, args in scenarios(actor).items():
        page = stream.time_page(app, name, viewer, args, repeat)
        main = next(
            s for s in page["statements"] if "LIMIT" in s["sql"] and "activity_e" in s["sql"]
        )
        count_ms, count, count_sql, count_params = time_count(app, viewer, args, repeat)
        entry = {
            "query": args["q"],
            "rows": page["rows"],
            "page_median_ms": page["median_ms"],
            "page_p95_ms": page["p95_ms"],
            "page_query_only_ms": page["query_only"]["median_ms"],
            "count": count,
            "count_median_ms": count_ms,
            "plan": page["page_query_plan"] and page["page_query_plan"]["plan"],
        }
        if path:
            entry["page_sql_floor_ms"] = floor_ms(path, main["sql"], main["params"], repeat)
            entry["count_sql_floor_ms"] = floor_ms(path, count_sql, count_params, repeat)
        floors = f"{entry.get('page_sql_floor_ms')} / {entry.get('count_sql_floor_ms')}"
        log(f"{name}: page {entry['page_median_ms']} ms, count {count_ms} ms (floor {floors})")
        results[name] = entry
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
    """Return one line per target: name, measured, limit, pass."""
    lines = []
    for name, entry in result["searches"].items():
        if name in ("common_word_whole", "phrase"):
            continue  # reported, not targets
        for key, limit in TARGETS_MS.items():
            value = entry[key]
            lines.append(
                {
                    "name": f"{name}.{key}",
                    "value": value,
                    "limit": limit,
                    "floor_ms": entry.get(key.replace("median_ms", "sql_floor_ms")),
                    "pass": value <= limit,
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
            database.execute_sql("ANALYZE")
        result["config"]["total_events"] = ActivityEvent.select().count()
        admin = User.select(User, Role).join(Role).where(User.email == stream.ADMIN_EMAIL).get()
        os.sync()
        result["searches"] = measure_searches(app, path, admin, actors[7], args.repeat)
        database.close()
    if path:
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
