"""Benchmark of the chart above every list (``core.listing.chart``); prints ONE JSON object.

Seeds (or, with ``--reuse``, reuses) the Activity bench world (``bench.stream``: 200 actors,
5,000 objects, 90 days, through the real bulk path) and as many sign-in attempts over the same
90 days (the recorder's bulk path, a fifth of them failures), then times the chart of each
scenario as the panel computes it: ``chart.build`` (the id bounds, the tab's query built once,
one statement counting every bar, the links) and the SVG template, each in a fresh request
context whose commit horizon is already read (the panel's first page reads it before the
chart). Beside each, its floor: the same SQL statements, with the same parameters, run by the
plain driver (``sqlite3`` or ``psycopg2``) on its own connection.

It is a benchmark, not a test: a missed target is reported (``"pass": false``), exit code 0.

    .venv/bin/python -m bench.chart                              # 1,000,000 each, temp SQLite
    .venv/bin/python -m bench.chart --events 100000 --attempts 100000
    .venv/bin/python -m bench.chart --keep /tmp/chart-bench        # keep the database
    .venv/bin/python -m bench.chart --keep /tmp/chart-bench --reuse
    .venv/bin/python -m bench.chart --postgres                   # a throwaway PostgreSQL database
    .venv/bin/python -m bench.chart --database-url postgresql://…/kept --reuse
"""

import argparse
import contextlib
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC
from datetime import timedelta
from urllib.parse import urlsplit

import peewee
import psycopg2
from flask import render_template
from werkzeug.datastructures import MultiDict

from bench import harness
from bench import stream
from bench.stream import ADMIN_EMAIL
from bench.stream import TEAMMATE_EMAIL
from core.auth import signins
from core.auth.clients import describe_client
from core.db import SQLITE_PRAGMAS
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events import ActivityEvent
from core.listing import chart
from core.listing.sql import request_horizon
from core.people import Role
from core.people import User
from plugins.activity import views as activity
from plugins.logins import views as logins
from plugins.settings.models import TabGrant

log = harness.logger("chart-bench")

TARGET_MS = 5.0  # the chart, built and drawn, median
DAYS = stream.DAYS
OUTCOMES = (("signed_in", 60), ("wrong_password", 25), ("unknown_user", 10), ("signed_out", 5))
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
)


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="Activity events")
    parser.add_argument("--attempts", type=int, default=1_000_000, help="sign-in attempts")
    parser.add_argument("--database-url", help="default: a SQLite file in the work directory")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL database")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ACTIVITY_STREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="the server on which --postgres creates its throwaway database",
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--reuse", action="store_true", help="use the rows already there")
    parser.add_argument("--repeat", type=int, default=50, help="timed runs of each scenario")
    parser.add_argument(
        "--caps", default="100,1000", help="bar caps to time (the first is the shipped one)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    args.caps = [int(cap) for cap in args.caps.split(",")]
    if args.repeat < 1 or min(args.caps) < 1:
        parser.error("--repeat and every cap must be at least 1")
    return args


# --- seeding ----------------------------------------------------------------------------------


def seed_attempts(count, actors, rng):
    """Record ``count`` sign-in attempts over the last ``DAYS`` days, in time order, through
    the bulk recorder: the actors and the demo people, a fifth of them failures."""
    people = actors + list(User.select().where(~User.email.startswith("bench")))
    clients = [
        describe_client(f"{rng.randrange(1, 223)}.{rng.randrange(256)}.0.7", rng.choice(AGENTS))
        for _ in range(500)
    ]
    outcomes = [outcome for outcome, weight in OUTCOMES for _ in range(weight)]
    start = utcnow() - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / count
    began = time.perf_counter()
    for offset in range(0, count, stream.BATCH):
        rows = []
        for n in range(offset, min(count, offset + stream.BATCH)):
            outcome = rng.choice(outcomes)
            user = None if outcome == "unknown_user" else rng.choice(people)
            name = user.email if user else f"guess{rng.randrange(5000)}@example.com"
            at = start + n * step
            rows.append(
                signins.build_attempt(name, user and user.id, outcome, rng.choice(clients), at=at)
            )
        with database.atomic():
            signins.record_sign_in_attempts(rows)
        if (offset + stream.BATCH) % 200_000 == 0:
            log(f"seeded {offset + stream.BATCH:,} attempts")
    seconds = time.perf_counter() - began
    return {"attempts": count, "seconds": round(seconds, 1), "per_s": round(count / seconds)}


def seed(args, result):
    """Seed what is missing; return the actors."""
    actors, teams_of = stream.seed_users()
    TabGrant.get_or_create(tab="logins", role=Role.get(Role.name == "Teammate"))
    rng = random.Random(args.seed)
    events = ActivityEvent.select().count()
    if events and not args.reuse:
        raise RuntimeError(f"the database holds {events:,} events: use an empty one, or --reuse")
    if not events:
        log(f"seeding {args.events:,} events")
        everyone = stream.everyone_of(actors)
        result["seed_events"] = stream.bulk_ingest(args.events, actors, teams_of, everyone, rng)
    if not signins.SignInAttempt.select().exists():
        log(f"seeding {args.attempts:,} sign-in attempts")
        result["seed_attempts"] = seed_attempts(args.attempts, actors, rng)
    if is_sqlite():
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        # What autovacuum does soon after a bulk load: statistics, and the visibility map
        # that lets an index-only scan skip the table.
        database.execute_sql("VACUUM ANALYZE")
    return actors


# --- timing -----------------------------------------------------------------------------------


class Capture:
    """The statements the database runs while active, with their parameters."""

    def __enter__(self):
        self.statements = []
        self.original = database.obj.execute_sql

        def execute_sql(sql, params=None, *rest, **options):
            self.statements.append((sql, list(params or ())))
            return self.original(sql, params, *rest, **options)

        database.obj.execute_sql = execute_sql
        return self

    def __exit__(self, *exc):
        database.obj.execute_sql = self.original


def time_chart(app, feed, viewer, query, repeat):
    """Time ``feed``'s chart for ``viewer`` under ``query``: built, and drawn; return the
    timings, what the bars say and the statements it ran."""
    path = f"/stream/{feed.name}"
    args = MultiDict(query)
    table = feed.model._meta.table_name

    @contextlib.contextmanager
    def fresh():
        with app.app_context(), app.test_request_context(path):
            filters, kept, refusal = feed.lenient_filters(args, viewer)
            if refusal:
                raise RuntimeError(f"{query}: {refusal}")
            request_horizon(table)  # read by the panel's first page, before the chart
            yield filters, kept

    for _ in range(min(5, repeat)):  # warm the caches
        with fresh() as (filters, kept):
            chart.build(feed, viewer, filters, kept)
    built, drawn, cpu = [], [], []
    for _ in range(repeat):
        with fresh() as (filters, kept):
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            made = chart.build(feed, viewer, filters, kept)
            t1 = time.perf_counter_ns()
            render_template("feed/chart.html", chart=made)
            t2 = time.perf_counter_ns()
            cpu.append(time.thread_time_ns() - c0)
        built.append(t1 - t0)
        drawn.append(t2 - t0)
    with fresh() as (filters, kept), Capture() as capture:
        made = chart.build(feed, viewer, filters, kept)
    statements = [(sql, params) for sql, params in capture.statements if "chart_" in sql]
    counts = [bar.count for bar in made.bars]
    return {
        "query": query,
        "viewer": viewer.email,
        "bars": len(made.bars),
        "unit": made.unit,
        "capped_bars": sum(count > made.cap for count in counts),
        "rows_counted": sum(min(count, made.cap + 1) for count in counts),
        "failures_marked": made.failure_word is not None,
        "chart": harness.summary_ms(built),
        "chart_and_svg": harness.summary_ms(drawn),
        # This process's CPU (on SQLite, the database's work too): steadier than the wall
        # time on a shared machine; PostgreSQL's own work is not in it.
        "cpu_median_ms": round(statistics.median(cpu) / 1e6, 3),
        "statements": statements,
    }


def floor_ms(database_url, statements, repeat):
    """Return the median ms of ``statements`` run one after the other by the plain driver
    (the database's own work, and the driver's), on a connection of its own."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(urlsplit(database_url).path[1:])
        for name, value in SQLITE_PRAGMAS.items():
            connection.execute(f"PRAGMA {name} = {value}")

        def run(sql, params):
            return connection.execute(sql, params).fetchall()

    else:
        connection = psycopg2.connect(database_url)
        connection.autocommit = True
        cursor = connection.cursor()

        def run(sql, params):
            cursor.execute(sql, params)
            return cursor.fetchall()

    samples = []
    for attempt in range(repeat + 5):
        t0 = time.perf_counter_ns()
        for sql, params in statements:
            run(sql, params)
        if attempt >= 5:
            samples.append(time.perf_counter_ns() - t0)
    connection.close()
    return round(statistics.median(samples) / 1e6, 3)


def explain(statements):
    """Return the plan of the counting statement (the one naming the buckets)."""
    for sql, params in statements:
        if "chart_bucket" in sql:
            prefix = "EXPLAIN QUERY PLAN " if is_sqlite() else "EXPLAIN "
            rows = database.execute_sql(prefix + sql, params).fetchall()
            return [row[-1] if is_sqlite() else row[0] for row in rows]
    return None


def is_variant(key):
    """Tell whether a scenario's ``key`` names a variant (another cap, the times checked),
    not what ships."""
    return "_cap_" in key or key.endswith("_times_checked")


def times_checked_query(feed, viewer, filters, cap, newer_than, older_than, start, end):
    """The design not shipped, for comparison: each bar's rows found by its id bounds, then
    each one's time checked against the bar's (read by id, outside the WHERE clause, where
    PostgreSQL would read the whole bucket by time to join it with them), so that a row
    dated before rows recorded earlier is counted in no bar rather than in the bar of the day
    it was recorded."""
    column, model = feed.filters.days, feed.model
    newest = feed.records(
        viewer, filters, columns=[model.id], older_than=older_than, newer_than=newer_than
    ).limit(cap + 1)
    if is_sqlite():
        by_id = all(getattr(o, "node", None) is model.id for o in newest._order_by or ())
        newest = newest.order_by() if by_id else newest
    within = peewee.Case(None, [((column >= start) & (column < end), 1)])
    return model.select(peewee.fn.COUNT(within)).where(model.id.in_(newest))


def scenarios(actors, admin):
    """Return ``{name: (feed, viewer email, query)}``: each a chart a person would see."""
    zone = admin.zone()
    day = (utcnow().replace(tzinfo=UTC).astimezone(zone) - timedelta(days=3)).date()
    return {
        "activity_admin": (activity.FEED, ADMIN_EMAIL, {}),
        "activity_admin_actor": (activity.FEED, ADMIN_EMAIL, {"actor": actors[7].id}),
        "activity_admin_verb": (activity.FEED, ADMIN_EMAIL, {"verb": "task.updated"}),
        "activity_admin_word": (activity.FEED, ADMIN_EMAIL, {"q": "done"}),
        "activity_admin_type": (activity.FEED, ADMIN_EMAIL, {"q": "type:task"}),
        "activity_admin_one_day": (activity.FEED, ADMIN_EMAIL, {"q": f"created:{day}"}),
        "activity_teammate": (activity.FEED, TEAMMATE_EMAIL, {}),
        "activity_teammate_verb": (activity.FEED, TEAMMATE_EMAIL, {"verb": "task.updated"}),
        "activity_teammate_word": (activity.FEED, TEAMMATE_EMAIL, {"q": "done"}),
        "logins_admin": (logins.FEED, ADMIN_EMAIL, {}),
        "logins_admin_failed": (logins.FEED, ADMIN_EMAIL, {"q": "outcome:failed"}),
        "logins_teammate": (logins.FEED, TEAMMATE_EMAIL, {}),
    }


def measure(args, workdir, database_url, result):
    """Seed what is missing, then time every scenario at every cap."""
    app = harness.build_app(database_url, workdir)
    result["config"]["database_url"] = harness.redact(database_url)
    with app.app_context():
        database.connect(reuse_if_open=True)
        actors = seed(args, result)
        result["config"]["events"] = ActivityEvent.select().count()
        result["config"]["attempts"] = signins.SignInAttempt.select().count()
        people = {
            user.email: user
            for user in User.select(User, Role)
            .join(Role)
            .where(User.email.in_([ADMIN_EMAIL, TEAMMATE_EMAIL]))
        }
        os.sync()
        result["config"]["load_average_1m"]["before_timing"] = round(os.getloadavg()[0], 2)
        result["scenarios"] = {}
        variants = [(f"_cap_{cap}" if cap != args.caps[0] else "", cap, None) for cap in args.caps]
        variants.append(("_times_checked", args.caps[0], times_checked_query))
        shipped_query = chart._bucket_query
        for suffix, cap, bucket_query in variants:
            chart.BAR_CAP = cap
            chart._bucket_query = bucket_query or shipped_query
            for name, (feed, email, query) in scenarios(actors, people[ADMIN_EMAIL]).items():
                timed = time_chart(app, feed, people[email], query, args.repeat)
                statements = timed.pop("statements")
                database.close()
                timed["sql_floor_ms"] = floor_ms(database_url, statements, args.repeat)
                database.connect(reuse_if_open=True)
                timed["count_plan"] = explain(statements)
                median = timed["chart_and_svg"]["median_ms"]
                timed["pass"] = median <= TARGET_MS
                result["scenarios"][name + suffix] = timed
                log(
                    f"{name}{suffix}: chart {timed['chart']['median_ms']} ms, with the SVG"
                    f" {median} ms (CPU {timed['cpu_median_ms']}), SQL floor"
                    f" {timed['sql_floor_ms']} ms"
                )
        chart._bucket_query = shipped_query
        chart.BAR_CAP = args.caps[0]
        database.close()
    shipped = [v for k, v in result["scenarios"].items() if not is_variant(k)]
    result["target"] = f"chart and its SVG <= {TARGET_MS} ms median, cap {args.caps[0]}"
    result["missed"] = [
        k for k, v in result["scenarios"].items() if not is_variant(k) and not v["pass"]
    ]
    result["all_met"] = all(v["pass"] for v in shipped)


def run(args, workdir, result):
    """Measure on the database asked for, filling ``result``."""
    result["config"] = {
        "repeat": args.repeat,
        "caps": args.caps,
        "cpus": os.cpu_count(),
        "load_average_1m": {"start": round(os.getloadavg()[0], 2)},
        "git": harness.git_state(),
    }
    if args.postgres:
        with harness.throwaway_postgres(args.postgres_url, "bench_chart") as url:
            measure(args, workdir, url, result)
        return
    measure(args, workdir, args.database_url or f"sqlite:///{workdir / 'chart.db'}", result)


def main(argv=None):
    """Run the benchmark and print its JSON: exit 0 even if targets are missed, 1 on error."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "chart-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
