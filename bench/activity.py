"""Benchmark of the Activity tab: recording, bulk ingest, page queries and the rows fragment.

Seeds a database through the real bulk path, then measures and prints ONE JSON object on
stdout (progress goes to stderr). It is a benchmark, not a test: a missed target is reported
(``"pass": false``) but the exit code is 0; only an error exits non-zero.

    .venv/bin/python bench/activity.py                       # 1,000,000 events, temp SQLite
    .venv/bin/python bench/activity.py --events 100000 --no-http
    .venv/bin/python bench/activity.py --keep /tmp/bench     # keep the database for a rerun
    .venv/bin/python bench/activity.py --keep /tmp/bench --reuse   # rerun without reseeding

See bench/README.md.
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import peewee  # noqa: E402
import postgres_floor  # noqa: E402
import sqlite_floor  # noqa: E402
from flask import g  # noqa: E402
from flask import render_template  # noqa: E402
from flask import request  # noqa: E402

from core import checkpointer  # noqa: E402
from core import migrations  # noqa: E402
from core.app import create_app  # noqa: E402
from core.db import database  # noqa: E402
from core.db import is_sqlite  # noqa: E402
from core.db import utcnow  # noqa: E402
from core.demo import DEMO_PASSWORD  # noqa: E402
from core.demo import demo_password_hash  # noqa: E402
from core.demo import demo_users  # noqa: E402
from core.demo import seed_people  # noqa: E402
from core.events import ActivityEvent  # noqa: E402
from core.events import Audience  # noqa: E402
from core.events import Ref  # noqa: E402
from core.events import build_entry  # noqa: E402
from core.events import record_activity  # noqa: E402
from core.events import record_entries  # noqa: E402
from core.feed import parse_cursor  # noqa: E402
from core.people import Role  # noqa: E402
from core.people import Team  # noqa: E402
from core.people import TeamMembership  # noqa: E402
from core.people import User  # noqa: E402
from core.people import create_user  # noqa: E402
from plugins.activity import queries  # noqa: E402
from plugins.activity import views  # noqa: E402
from plugins.activity.filters import parse_filters  # noqa: E402
from plugins.settings.models import TabGrant  # noqa: E402

SECRET_KEY = "bench-secret-key-0123456789abcdef"
ADMIN_EMAIL = "admin@example.com"  # Admin kind: "all" scope on the Activity tab
TEAMMATE_EMAIL = "teammate@example.com"  # Teammate: "related" scope once granted the tab
ACTOR_COUNT = 200
OBJECT_TYPES = ("document", "task", "company", "project")
OBJECT_COUNT = 5000
ACTIONS = ("created", "updated", "deleted", "commented")
DAYS = 90
BATCH = 10_000
DEEP_ROWS = 20_000
WARM_UP_SECONDS = 2 * checkpointer.EVERY_SECONDS
# Actor roles, cycled (no Super Admin: there is only one); Freelancers are in no team.
ACTOR_ROLES = (
    "Teammate",
    "Teammate",
    "Project Manager",
    "Salesperson",
    "Teammate",
    "Office Manager",
    "Salesperson",
    "Admin",
    "Freelancer",
    "Project Manager",
)
TEAM_NAMES = ("Leadership", "Delivery", "Sales")
COMMENTS = ("Looks good to me.", "Can we move this to next week?", "Done, see attachment.")

TARGETS = {
    "page_median_ms": 2.0,
    "page_p95_ms": 5.0,
    "deep_vs_first_ratio": 1.10,  # "no slower than the first page", with 10 % noise allowance
    "scoped_median_ms": 5.0,
    "record_events_per_s": 2000,
    "bulk_events_per_s": 50_000,
    "bulk_vs_floor_ratio": 0.8,  # the bulk path at least 0.8x the plain driver's same writes
    # PostgreSQL (on this machine, the server beside the bench): its own figures.
    "postgres_page_median_ms": 5.0,
    "postgres_record_events_per_s": 1500,
    "postgres_bulk_events_per_s": 40_000,
    "http_requests_per_s": 300,
    "http_p99_ms": 100.0,
    "web_rss_mb": 150.0,
}

# Field changes the bench records, by object type.
CHANGES = {
    "task": [
        {"status": ["open", "in progress"]},
        {"status": ["in progress", "done"], "due_date": ["2026-11-01", "2026-11-08"]},
        {"title": ["Q3 reprot", "Q3 report"], "priority": ["normal", "high"]},
    ],
    "document": [{"title": ["Draft", "Final"]}, {"body": ["v1", "v2"], "shared": [False, True]}],
    "company": [{"phone": ["+1 555 0100", "+1 555 0199"]}, {"industry": ["", "Healthcare"]}],
    "project": [{"stage": ["planning", "delivery"], "budget": ["10000", "12500"]}],
}


def log(message):
    """Print a progress line on stderr (stdout carries the JSON only)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to seed")
    parser.add_argument("--database-url", help="default: a SQLite file in the work directory")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (database, logs)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="if the database already holds events, skip seeding (ingest is then not measured)",
    )
    parser.add_argument(
        "--http",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure the rows fragment over HTTP with gunicorn + wrk",
    )
    parser.add_argument("--repeat", type=int, default=200, help="runs of each page query")
    parser.add_argument(
        "--record-events", type=int, default=2000, help="events recorded one by one"
    )
    parser.add_argument("--http-seconds", type=int, default=10, help="duration of the wrk run")
    parser.add_argument(
        "--floor",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the same writes with plain sqlite3 on a copy of the database",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    args = parser.parse_args(argv)
    if args.events < DEEP_ROWS + 1000 and not args.reuse:
        parser.error(f"--events: at least {DEEP_ROWS + 1000} (the deep page is {DEEP_ROWS} rows)")
    if args.repeat < 1 or args.record_events < 1:
        parser.error("--repeat and --record-events must be at least 1")
    if not 1 <= args.http_seconds <= 120:
        parser.error("--http-seconds: from 1 to 120")
    return args


# --- statistics -----------------------------------------------------------------------------


def percentile(values, fraction):
    """Return the nearest-rank percentile of ``values`` (``fraction`` in 0..1)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(samples_ns):
    """Return median, p95 and max of nanosecond samples, in milliseconds."""
    values = [sample / 1e6 for sample in samples_ns]
    return {
        "median_ms": round(statistics.median(values), 3),
        "p95_ms": round(percentile(values, 0.95), 3),
        "max_ms": round(max(values), 3),
    }


def redact(url):
    """Return ``url`` without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --- setup ----------------------------------------------------------------------------------


def build_app(database_url, workdir):
    """Build and migrate the app on the bench database."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "HUEY_URL": "memory://",
            "HUEY_IMMEDIATE": True,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(workdir / "instance"),
        }
    )
    with app.app_context():
        migrations.upgrade(app)
    return app


def seed_users():
    """Seed the demo people and 200 actor users over roles and teams; grant Teammates the tab.

    Returns ``(actors, teams_of)``: the actor users (role joined) and ``{user id: [team id]}``.
    """
    with database.atomic():
        seed_people()
        teams = [Team.get(Team.name == name) for name in TEAM_NAMES]
        for number in range(1, ACTOR_COUNT + 1):
            email = f"bench{number:03d}@example.com"
            if User.select().where(User.email == email).exists():
                continue
            role = ACTOR_ROLES[number % len(ACTOR_ROLES)]
            member_of = []
            if role != "Freelancer":
                member_of = [teams[number % 3]]
                if number % 10 == 0:
                    member_of.append(teams[(number + 1) % 3])
            create_user(
                f"Bench Actor {number:03d}",
                email,
                role,
                password_hash=demo_password_hash(),
                teams=member_of,
            )
        teammate = Role.get(Role.name == "Teammate")
        TabGrant.get_or_create(tab=queries.TAB, role=teammate)
    actors = list(
        User.select(User, Role)
        .join(Role)
        .where(User.email.startswith("bench"))
        .order_by(User.id)
        .limit(ACTOR_COUNT)
    )
    teams_of = {}
    for row in TeamMembership.select(TeamMembership.user, TeamMembership.team):
        teams_of.setdefault(row.user_id, []).append(row.team_id)
    return actors, teams_of


def object_ref(index):
    """Return the Ref of object number ``index`` (0 .. OBJECT_COUNT - 1)."""
    kind = OBJECT_TYPES[index % len(OBJECT_TYPES)]
    number = index // len(OBJECT_TYPES) + 1
    return Ref(kind, number, f"{kind.capitalize()} {number:04d}")


def event_inputs(rng, teams, everyone):
    """Return the arguments (beyond the actor) of one random event."""
    obj = object_ref(rng.randrange(OBJECT_COUNT))
    action = rng.choice(ACTIONS)
    changes = rng.choice(CHANGES[obj.type]) if action == "updated" else None
    summary = rng.choice(COMMENTS) if action == "commented" else None
    target = None
    if obj.type == "task" and action == "commented":
        target = object_ref(rng.randrange(OBJECT_COUNT // 4) * 4 + 3)  # a project
    named = {rng.choice(everyone)} if rng.random() < 0.5 else set()
    # The actor and their teams are what build_entry adds for a User; with a Ref actor we
    # name them explicitly so the audience looks like a live one (2-3 parties per event).
    audience = Audience(users=named, teams=set(teams))
    return f"{obj.type}.{action}", obj, changes, target, audience, summary


def bulk_ingest(events, actors, teams_of, everyone, rng):
    """Seed ``events`` through build_entry + record_entries in batches; return the timings."""
    start = utcnow() - timedelta(days=DAYS)
    step = timedelta(days=DAYS).total_seconds() / events
    refs = [Ref("user", actor.id, actor.name) for actor in actors]
    build_ns = record_ns = cpu_ns = 0
    parties = 0
    batch_rates = []
    done = 0
    while done < events:
        size = min(BATCH, events - done)
        raw = []
        for offset in range(size):
            position = done + offset
            who = rng.randrange(len(actors))
            verb, obj, changes, target, audience, summary = event_inputs(
                rng, teams_of.get(actors[who].id, ()), everyone
            )
            moment = start + timedelta(seconds=(position + rng.random()) * step)
            raw.append((refs[who], verb, obj, changes, target, audience, summary, moment))
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        entries = [
            build_entry(actor, verb, obj, changes, target, audience, summary, occurred_at=moment)
            for actor, verb, obj, changes, target, audience, summary, moment in raw
        ]
        t1 = time.perf_counter_ns()
        record_entries(entries)
        t2 = time.perf_counter_ns()
        cpu_ns += time.process_time_ns() - c0
        build_ns += t1 - t0
        record_ns += t2 - t1
        parties += sum(len(entry["parties"]) for entry in entries)
        batch_rates.append(size / ((t2 - t0) / 1e9))
        done += size
        if done % 100_000 == 0 or done == events:
            log(f"ingested {done:,} events ({batch_rates[-1]:,.0f} events/s in the last batch)")
    seconds = (build_ns + record_ns) / 1e9
    tenth = max(1, len(batch_rates) // 10)
    return {
        "events": events,
        "batch_size": BATCH,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        # CPU time of this process: what the wall time would be without other load (roughly).
        "cpu_s": round(cpu_ns / 1e9, 2),
        "events_per_cpu_s": round(events / (cpu_ns / 1e9)),
        "build_entry_s": round(build_ns / 1e9, 2),
        "record_entries_s": round(record_ns / 1e9, 2),
        "record_entries_events_per_s": round(events / (record_ns / 1e9)),
        "first_10pct_events_per_s": round(statistics.mean(batch_rates[:tenth])),
        "last_10pct_events_per_s": round(statistics.mean(batch_rates[-tenth:])),
        "audience_parties_per_event": round(parties / events, 2),
    }


def record_one_by_one(app, count, actors, everyone, rng):
    """Record ``count`` events through record_activity, each in its own transaction.

    All inside one real request context (IP, user agent, request id are recorded), so the
    number is the recorder's cost, not Flask's per-request overhead (the HTTP part has that).
    A first second of events is recorded untimed (``warm_up_events``), see below.
    """
    samples = []
    cpu_ns = 0
    warm_up = 0
    warm_until = time.monotonic() + WARM_UP_SECONDS
    with app.test_request_context(
        "/stream/activity",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"User-Agent": "activity-bench/1.0"},
    ):
        # Not timed: the first second of events (two checkpoint intervals) loads the index
        # pages into the connection's cache and, on a --reuse run, grows the write-ahead log
        # from empty to its working size, as in any process that has run a while.
        while len(samples) < count:
            actor = rng.choice(actors)
            verb, obj, changes, target, audience, summary = event_inputs(rng, (), everyone)
            audience.teams = set()  # record_activity adds the actor's teams itself
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            g.request_id = uuid.uuid4().hex
            with database.atomic():
                record_activity(actor, verb, obj, changes, target, audience, summary)
            if time.monotonic() < warm_until:
                warm_up += 1
            else:
                samples.append(time.perf_counter_ns() - t0)
                cpu_ns += time.process_time_ns() - c0
    seconds = sum(samples) / 1e9
    return {
        "events": count,
        "warm_up_events": warm_up,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds),
        # The rest of the wall time is waiting: the fsync of each commit, other processes.
        "cpu_ms_per_event": round(cpu_ns / 1e6 / count, 3),
        **{f"per_event_{key}": value for key, value in summary_ms(samples).items()},
    }


# --- page queries ---------------------------------------------------------------------------


class SqlCapture:
    """Collect the statements the database runs while active (peewee query hooks)."""

    def __init__(self):
        self.statements = []

    def __call__(self, event):
        self.statements.append((event.sql, event.params, event.duration))

    def __enter__(self):
        database.obj.query_hooks.append(self)
        return self

    def __exit__(self, *exc):
        database.obj.query_hooks.remove(self)


def explain(sql, params):
    """Return the query plan of ``sql`` and flags that matter for tuning."""
    if is_sqlite():
        rows = database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        lines = [row[3] for row in rows]
        indexes = sorted(
            {
                match.group(1)
                for line in lines
                for match in [re.search(r"USING (?:COVERING )?INDEX (\S+)", line)]
                if match
            }
            | {"INTEGER PRIMARY KEY" for line in lines if "INTEGER PRIMARY KEY" in line}
        )
        return {
            "plan": lines,
            "uses_index": bool(indexes),
            "indexes": indexes,
            "temp_btree": any("TEMP B-TREE" in line for line in lines),
            "table_scans": [line for line in lines if re.match(r"SCAN \S+$", line)],
            "subqueries": [line for line in lines if "SUBQUERY" in line],
        }
    rows = database.execute_sql("EXPLAIN " + sql, params).fetchall()
    lines = [row[0] for row in rows]
    indexes = sorted(
        {
            match.group(1)
            for line in lines
            for match in [
                re.search(r"Index (?:Only )?Scan (?:Backward )?using (\S+)", line)
                or re.search(r"Bitmap Index Scan on (\S+)", line)
            ]
            if match
        }
    )
    return {
        "plan": lines,
        "uses_index": bool(indexes),
        "indexes": indexes,
        "temp_btree": any(re.search(r"\bSort\b", line) for line in lines),
        "table_scans": [line.strip() for line in lines if "Seq Scan" in line],
        "subqueries": [line.strip() for line in lines if "SubPlan" in line or "Hash" in line],
    }


def vm_steps(call):
    """Return roughly how many SQLite VM instructions ``call`` runs (work done, not time)."""
    if not is_sqlite():
        return None
    connection = database.connection()
    counter = [0]

    def tick():
        counter[0] += 1
        return 0

    connection.set_progress_handler(tick, 100)
    try:
        call()
    finally:
        connection.set_progress_handler(None, 100)
    return counter[0] * 100


def time_page(app, name, viewer, args, repeat):
    """Time one page of the Activity tab as the rows fragment computes it.

    ``server`` is parse + ``FEED.page`` + ``FEED.rows_context`` (object links, sentences,
    next URL: names resolved as the UI needs them); ``query_only`` is ``FEED.page`` alone;
    ``with_template`` adds the rows template. Each call runs in a fresh request context.
    Also captures the SQL run (all of it: scope, teams, links) and the page query's plan.
    """
    path = "/stream/activity/rows?" + urlencode(args)

    @contextlib.contextmanager
    def fresh():
        # A new app + request context each time: ``g`` (per-request caches) starts empty and
        # the connection goes back to the pool at teardown, as for a real request.
        with app.app_context(), app.test_request_context(path, headers={"HX-Request": "true"}):
            yield

    def page_only():
        filters = parse_filters(request.args)
        return views.FEED.page(viewer, filters, after=parse_cursor(request.args))

    def server():
        events, cursor = page_only()
        return views.FEED.rows_context(viewer, request.args, events, cursor)

    for _ in range(min(20, repeat)):  # warm the caches
        with fresh():
            server()
    query_ns, server_ns, render_ns, cpu_ns = [], [], [], []
    for _ in range(repeat):
        with fresh():
            t0 = time.perf_counter_ns()
            page_only()
            query_ns.append(time.perf_counter_ns() - t0)
        with fresh():
            c1 = time.thread_time_ns()
            t1 = time.perf_counter_ns()
            context = server()
            t2 = time.perf_counter_ns()
            cpu_ns.append(time.thread_time_ns() - c1)
            render_template("feed/rows.html", **context)
            t3 = time.perf_counter_ns()
        server_ns.append(t2 - t1)
        render_ns.append(t3 - t1)
    with fresh():
        events, cursor = page_only()
    with fresh(), SqlCapture() as capture:
        server()
    with fresh():
        steps = vm_steps(server)
    statements = []
    for sql, params, duration in capture.statements:
        entry = {"ms": round(duration * 1000, 3)}
        if "activity_" in sql:
            entry.update(sql=sql, params=list(params or ()), **explain(sql, params))
        else:  # the viewer's scope, teams, object links: shortened
            entry["sql"] = sql if len(sql) <= 100 else sql[:97] + "..."
        statements.append(entry)
    main = next(
        (s for s in statements if "activity_event" in s["sql"] and "LIMIT" in s["sql"]), None
    )
    result = {
        "viewer": viewer.email,
        "scope": _scope(app, viewer),
        "url": path,
        "rows": len(events),
        "has_next": cursor is not None,
        **summary_ms(server_ns),
        "cpu_median_ms": round(statistics.median(cpu_ns) / 1e6, 3),
        "query_only": summary_ms(query_ns),
        "with_template": summary_ms(render_ns),
        "sql_statements": len(statements),
        "vm_steps": steps,
        "page_query_plan": main and {k: main[k] for k in main if k not in ("sql", "params")},
        "statements": statements,
    }
    log(f"{name}: median {result['median_ms']} ms, p95 {result['p95_ms']} ms")
    return result


def _scope(app, viewer):
    from core.tabs import row_scope

    with app.test_request_context("/"):
        return row_scope(viewer, queries.TAB)


def connect_cost(repeat):
    """Time ``connect`` + ``close`` as every request does (a pool makes it a checkout)."""
    samples = []
    database.close()
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        database.connect()
        database.execute_sql("SELECT 1")
        database.close()
        samples.append(time.perf_counter_ns() - t0)
    database.connect()
    return summary_ms(samples)


# --- HTTP -----------------------------------------------------------------------------------


class _CsrfField(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def _request(port, method, path, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _session_cookie(headers):
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("session="):
            return value.split(";", 1)[0]
    return None


def sign_in(port, email, password):
    """Sign in over HTTP (GET /login for the CSRF token, POST /login); return the cookie."""
    status, headers, body = _request(port, "GET", "/login")
    if status != 200:
        raise RuntimeError(f"GET /login answered {status}")
    parser = _CsrfField()
    parser.feed(body)
    cookie = _session_cookie(headers)
    if not parser.token or not cookie:
        raise RuntimeError("GET /login gave no CSRF token or no session cookie")
    form = urlencode({"email": email, "password": password, "csrf_token": parser.token})
    status, headers, body = _request(
        port,
        "POST",
        "/login",
        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        form,
    )
    cookie = _session_cookie(headers)
    if status != 302 or not cookie:
        raise RuntimeError(f"POST /login answered {status}, not a redirect with a session")
    return cookie


def free_port():
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, seconds=60):
    """Wait until ``port`` accepts connections (or the process died / time ran out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on 127.0.0.1:{port} within {seconds} s")


def children_of(pid):
    """Return the ids of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_seconds(pid):
    """Return the user + system CPU seconds ``pid`` has used (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid):
    """Return ``{"rss_mb", "peak_rss_mb"}`` of ``pid`` from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return {"rss_mb": round(values["VmRSS"], 1), "peak_rss_mb": round(values["VmHWM"], 1)}


def _duration_ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]
    return round(float(number) * scale, 3)


def parse_wrk(output):
    """Return requests/s, latency percentiles and errors from wrk's --latency output."""
    result = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["requests_per_s"] = round(float(match.group(1)), 1) if match else None
    for percent in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+(\S+)\s*$", output, re.M)
        result[f"p{percent}_ms"] = _duration_ms(match.group(1)) if match else None
    match = re.search(r"(\d+) requests in", output)
    result["requests"] = int(match.group(1)) if match else None
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx_3xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors:(.*)", output)
    result["socket_errors"] = match.group(1).strip() if match else None
    return result


def http_bench(database_url, workdir, after_id, seconds, result):
    """Serve the app as deployed (gunicorn with ``core.serving``, 2 worker processes), hit the
    rows fragment with wrk."""
    wrk = shutil.which("wrk")
    if wrk is None:
        note = "wrk is not installed (Debian: apt-get install -y wrk); HTTP part skipped"
        log(note)
        result["skipped"] = note
        return
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "ACTIVITY_STREAM_DATABASE_URL": database_url,
            "ACTIVITY_STREAM_HUEY_URL": "memory://",
            "ACTIVITY_STREAM_HUEY_IMMEDIATE": "true",
            "ACTIVITY_STREAM_SECRET_KEY": SECRET_KEY,
        }
    )
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:core.serving", "-w", "2",
        "-b", f"127.0.0.1:{port}", "--timeout", "60", "wsgi:app",
    ]  # fmt: skip
    # The server imports the code as it is now: bring the schema up to date with it first.
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log_path = workdir / "gunicorn.log"
    with open(log_path, "wb") as server_log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, process)
        cookie = sign_in(port, ADMIN_EMAIL, DEMO_PASSWORD)
        path = f"/stream/activity/rows?after={after_id}"
        headers = {"Cookie": cookie, "HX-Request": "true"}
        status, _, body = _request(port, "GET", path, headers)
        rows = body.count('<li class="row"')
        if status != 200 or rows == 0:
            tail = log_path.read_text(errors="replace").splitlines()[-5:]
            result["gunicorn_log_tail"] = tail
            raise RuntimeError(f"GET {path} answered {status} with {rows} rows: {body[:300]!r}")
        base = [wrk, "-t2", "-c16", "--timeout", "5s", "--latency"]
        base += ["-H", f"Cookie: {cookie}", "-H", "HX-Request: true"]
        url = f"http://127.0.0.1:{port}{path}"
        log("HTTP: warming up (2 s)")
        subprocess.run(base + ["-d2s", url], capture_output=True, check=True, timeout=60)
        log(f"HTTP: wrk -t2 -c16 -d{seconds}s {url}")
        cpu_before = {pid: cpu_seconds(pid) for pid in children_of(process.pid)}
        run = subprocess.run(
            base + [f"-d{seconds}s", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
        workers = children_of(process.pid)
        memory = {str(pid): memory_mb(pid) for pid in workers}
        served = parse_wrk(run.stdout)
        # CPU the workers spent per request: the cost, whatever else runs on the machine.
        cpu = sum(cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in workers)
        cpu_ms = round(cpu * 1000 / served["requests"], 2) if served["requests"] else None
        result.update(
            {
                "url": path,
                "rows_per_response": rows,
                "response_bytes": len(body.encode()),
                "workers": len(workers),
                **served,
                "worker_cpu_ms_per_request": cpu_ms,
                "cpu_bound_requests_per_s_on_2_idle_cores": cpu_ms and round(2000 / cpu_ms),
                "worker_memory": memory,
                "max_worker_rss_mb": max((m["rss_mb"] for m in memory.values()), default=None),
                "master_rss_mb": memory_mb(process.pid)["rss_mb"],
                "wrk_output": run.stdout.strip().splitlines(),
            }
        )
        log(f"HTTP: {result['requests_per_s']} requests/s, p99 {result['p99_ms']} ms")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


# --- the run --------------------------------------------------------------------------------


def check(name, value, limit, higher_is_better=False, unit=""):
    """Return one target line: its value, the target and whether it is met."""
    if value is None:
        return {"name": name, "value": None, "target": None, "pass": None}
    met = value >= limit if higher_is_better else value <= limit
    return {
        "name": name,
        "value": value,
        "target": f"{'>=' if higher_is_better else '<='} {limit}{unit}",
        "pass": met,
    }


def evaluate(result):
    """Return the target lines for ``result``."""
    pages = result["pages"]
    lines = []
    postgres = not result["config"]["database_url"].startswith("sqlite")
    page_median = TARGETS["postgres_page_median_ms" if postgres else "page_median_ms"]
    for name in ("first_page", "filtered_page", "deep_page", "object_history"):
        median, p95 = pages[name]["median_ms"], pages[name]["p95_ms"]
        lines.append(check(f"{name} median", median, page_median, unit=" ms"))
        if not postgres:  # PostgreSQL's target is the median; its p95 is reported
            lines.append(check(f"{name} p95", p95, TARGETS["page_p95_ms"], unit=" ms"))
    # "No slower than the first page": compared by the work SQLite does (VM steps, the same
    # on every run) where there is such a count; medians ±10 % apart are noise on this machine.
    deep, first = pages["deep_page"], pages["first_page"]
    if deep.get("vm_steps") and first.get("vm_steps"):
        name, ratio = "deep_page / first_page work", deep["vm_steps"] / first["vm_steps"]
    else:
        name, ratio = "deep_page median / first_page median", deep["median_ms"] / first["median_ms"]
    lines.append(check(name, round(ratio, 2), TARGETS["deep_vs_first_ratio"]))
    scoped = pages["scoped_page"]["median_ms"]
    lines.append(check("scoped_page median", scoped, TARGETS["scoped_median_ms"], unit=" ms"))
    lines.append(
        check(
            "record one-by-one",
            result["record_one_by_one"]["events_per_s"],
            TARGETS["postgres_record_events_per_s" if postgres else "record_events_per_s"],
            higher_is_better=True,
            unit=" events/s",
        )
    )
    ingest = result["bulk_ingest"]
    lines.append(
        check(
            "bulk ingest",
            ingest and ingest["events_per_s"],
            TARGETS["postgres_bulk_events_per_s" if postgres else "bulk_events_per_s"],
            higher_is_better=True,
            unit=" events/s",
        )
    )
    floor = result.get("postgres_floor" if postgres else "sqlite_floor")
    if ingest and floor:
        ratio = round(ingest["events_per_s"] / floor["bulk_events_per_s"], 2)
        lines.append(
            check("bulk ingest / plain driver", ratio, TARGETS["bulk_vs_floor_ratio"], True)
        )
    web = result["http"]
    lines.append(
        check(
            "rows fragment requests/s",
            web.get("requests_per_s"),
            TARGETS["http_requests_per_s"],
            higher_is_better=True,
        )
    )
    lines.append(check("rows fragment p99", web.get("p99_ms"), TARGETS["http_p99_ms"], unit=" ms"))
    lines.append(
        check("web worker RSS", web.get("max_worker_rss_mb"), TARGETS["web_rss_mb"], unit=" MB")
    )
    return lines


def git_state():
    """Return the commit measured and the files changed since (the code moves between runs)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "core", "plugins", "templates", "wsgi.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return None
    return {"commit": commit, "uncommitted": [line.strip() for line in changed]}


def database_facts():
    """Return the SQLite settings the numbers depend on (or the server version)."""
    if not is_sqlite():
        return {"server": database.execute_sql("SELECT version()").fetchone()[0]}
    facts = {"sqlite_version": sqlite3.sqlite_version}
    for pragma in ("journal_mode", "synchronous", "cache_size", "page_size"):
        facts[pragma] = database.execute_sql(f"PRAGMA {pragma}").fetchone()[0]
    facts["analyzed"] = bool(
        database.execute_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).fetchone()[0]
    )
    facts["indexes"] = {
        name: sql
        for name, sql in database.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name LIKE 'activity_%'"
        ).fetchall()
    }
    return facts


def run(args, workdir, result):
    """Seed and measure, filling ``result`` as each part completes."""
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    rng = random.Random(args.seed)
    log(f"work directory {workdir}; database {redact(database_url)}")
    result["config"] = {
        "events": args.events,
        "database_url": redact(database_url),
        "workdir": str(workdir) if args.keep else None,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "peewee": peewee.__version__,
        "cpus": os.cpu_count(),
        # Other processes on the machine skew every number: see the 1-minute load.
        "load_average_1m": {"start": round(os.getloadavg()[0], 2)},
    }
    result["config"]["git"] = git_state()
    app = build_app(database_url, workdir)
    result["config"]["plugins"] = sorted(
        name for name, _ in app.extensions["plugin_manager"].list_name_plugin()
    )
    with app.app_context():
        database.connect(reuse_if_open=True)
        actors, teams_of = seed_users()
        people = demo_users()
        everyone = [actor.id for actor in actors] + [user.id for user in people.values()]
        existing = ActivityEvent.select().count()
        if existing and not args.reuse:
            raise RuntimeError(
                f"the database already holds {existing:,} events: use an empty one, or --reuse"
            )
        if existing:
            log(f"--reuse: {existing:,} events already there, not seeding")
            result["bulk_ingest"] = None
        else:
            log(f"bulk ingest of {args.events:,} events in batches of {BATCH:,}")
            result["bulk_ingest"] = bulk_ingest(args.events, actors, teams_of, everyone, rng)
        if is_sqlite():
            # RESTART, not TRUNCATE: the next commits overwrite the log from its start, as in
            # a server that has run a while, instead of growing an empty file page by page.
            database.execute_sql("PRAGMA wal_checkpoint(RESTART)")
        else:
            # PostgreSQL's autovacuum would analyze the fresh tables soon; do it now, or the
            # planner works from the statistics of empty tables. (SQLite: the app runs no
            # ANALYZE, so neither does the bench; config.database.analyzed says so.)
            database.execute_sql("ANALYZE")
        os.sync()  # the ingest's writes are flushed before the fsync-bound part starts
        log(f"recording {args.record_events:,} events one by one")
        result["record_one_by_one"] = record_one_by_one(
            app, args.record_events, actors, everyone, rng
        )
        if is_sqlite():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            result["config"]["database_mb"] = round(
                Path(urlsplit(database_url).path[1:]).stat().st_size / 2**20, 1
            )
        result["config"]["total_events"] = ActivityEvent.select().count()
        result["config"]["database"] = database_facts()
        # The writes above leave hundreds of MB for the kernel to write back; let it finish
        # now rather than during the page timings.
        os.sync()

        admin = User.select(User, Role).join(Role).where(User.email == ADMIN_EMAIL).get()
        teammate = User.select(User, Role).join(Role).where(User.email == TEAMMATE_EMAIL).get()
        ids = ActivityEvent.select(ActivityEvent.id).order_by(ActivityEvent.id.desc())
        deep_cursor = ids.offset(DEEP_ROWS - 1).limit(1).scalar()
        near_cursor = ids.offset(999).limit(1).scalar()
        actor = actors[7]
        scenarios = {
            "first_page": (admin, {}),
            "filtered_page": (admin, {"actor": actor.id, "verb": "task.updated"}),
            "deep_page": (admin, {"after": deep_cursor}),
            "object_history": (admin, {"object": "task:17"}),
            "scoped_page": (teammate, {}),
        }
        result["config"]["load_average_1m"]["before_pages"] = round(os.getloadavg()[0], 2)
        result["pages"] = {}
        for name, (viewer, query) in scenarios.items():
            result["pages"][name] = time_page(app, name, viewer, query, args.repeat)
        # Not targets: every other filter, so a slow plan shows up here before a user finds it.
        delivery = Team.get(Team.name == "Delivery").id
        today = utcnow().date()
        others = {
            "type": (admin, {"type": "task"}),
            "action": (admin, {"action": "updated"}),
            "action_and_type": (admin, {"action": "updated", "type": "task"}),
            "team": (admin, {"team": delivery}),
            "week_60_days_ago": (
                admin,
                {"from": today - timedelta(days=66), "to": today - timedelta(days=60)},
            ),
            "text": (admin, {"q": "Task 0042"}),
            "scoped_and_verb": (teammate, {"verb": "task.updated"}),
        }
        result["other_filters"] = {}
        for name, (viewer, query) in others.items():
            timed = time_page(app, name, viewer, query, min(args.repeat, 20))
            result["other_filters"][name] = {
                key: timed[key]
                for key in ("url", "rows", "median_ms", "p95_ms", "vm_steps", "page_query_plan")
                if key in timed
            }
        result["connection_per_request"] = connect_cost(min(args.repeat, 100))
        database.close()

    result["config"]["load_average_1m"]["before_http"] = round(os.getloadavg()[0], 2)
    if args.http:
        result["http"] = {}
        http_bench(database_url, workdir, near_cursor, args.http_seconds, result["http"])
    else:
        result["http"] = {"skipped": "--no-http"}
    if database_url.startswith("sqlite") and args.floor:
        log("the same writes with plain sqlite3 on a copy (the floor of this schema)")
        result["sqlite_floor"] = sqlite_floor.measure(
            Path(urlsplit(database_url).path[1:]), workdir
        )
    if not database_url.startswith("sqlite") and args.floor:
        log("the same writes with plain psycopg2 (the floor of this schema)")
        result["postgres_floor"] = postgres_floor.measure(database_url)
    result["targets"] = evaluate(result)
    result["all_targets_met"] = all(line["pass"] is not False for line in result["targets"])
    result["missed"] = [line["name"] for line in result["targets"] if line["pass"] is False]


def main(argv=None):
    """Run the benchmark and print its JSON: exit 0 even if targets are missed, 1 on error.

    On an error the JSON still holds every part measured before it, plus ``"error"``.
    """
    args = parse_args(argv)
    if args.keep:
        workdir = Path(args.keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="activity-bench-"))
    result = {}
    status = 0
    try:
        run(args, workdir, result)
    except Exception as error:
        traceback.print_exc()
        result["error"] = f"{type(error).__name__}: {error}"
        status = 1
    finally:
        if database.obj is not None:
            close_all = getattr(database.obj, "close_all", None)
            if close_all is not None:
                close_all()  # a pooled database keeps connections: close them all
            elif not database.is_closed():
                database.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
