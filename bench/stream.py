"""The Activity stream's bench world, shared by ``bench.activity`` and ``bench.search``: the
seeded people (the demo people plus 200 actors over the roles and the three teams) and events
(5,000 objects, four verbs, 90 days, through the real bulk path), recording one by one, and
the timing of one Activity tab page as its rows fragment computes it (with the SQL it ran and
the plans).
"""

import contextlib
import re
import statistics
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from flask import g
from flask import render_template
from flask import request

from bench import harness
from core import checkpointer
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.demo import demo_password_hash
from core.demo import demo_users
from core.demo import seed_people
from core.events import Audience
from core.events import Ref
from core.events import build_entry
from core.events import record_activity
from core.events import record_entries
from core.events.recorder import ROW_COLUMNS
from core.listing.feed import PAGE_SIZE
from core.listing.feed import parse_cursor
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.people import create_user
from core.search.index import catch_up_now
from core.tabs import row_scope
from plugins.activity import queries
from plugins.activity import views
from plugins.activity.filters import parse_filters
from plugins.settings.models import TabGrant

log = harness.logger("bench")

ADMIN_EMAIL = "admin@example.com"  # Admin kind: "all" scope on the Activity tab
TEAMMATE_EMAIL = "teammate@example.com"  # Teammate: "related" scope once granted the tab
ACTOR_COUNT = 200
OBJECT_TYPES = ("document", "task", "company", "project")
OBJECT_COUNT = 5000
ACTIONS = ("created", "updated", "deleted", "commented")
DAYS = 90
BATCH = 10_000
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


def everyone_of(actors):
    """Return the ids of every user an event may name: the actors and the demo people."""
    return [actor.id for actor in actors] + [user.id for user in demo_users().values()]


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
    # SQLite: the full-text index follows the table; the measurements after this read it
    # caught up, as a server's background thread keeps it, and its catch-up is timed here.
    t0 = time.perf_counter_ns()
    catch_up_now()
    catch_up_s = (time.perf_counter_ns() - t0) / 1e9
    return {
        "index_catch_up_s": round(catch_up_s, 2) if is_sqlite() else None,
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


def entry_rows(events, actors, teams_of, everyone, rng):
    """Return ``events`` events as the bulk path writes them, drawn as ``bulk_ingest`` draws
    its own (``event_inputs``): ``(values in ROW_COLUMNS order, parties)`` each, for a floor
    to write the same content (the text its index takes in is most of the write's cost),
    their times spread over the last ``DAYS`` as ``bulk_ingest`` spreads them."""
    start = utcnow() - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / events
    rows = []
    for n in range(events):
        actor = actors[rng.randrange(len(actors))]
        inputs = event_inputs(rng, teams_of.get(actor.id, ()), everyone)
        moment = start + step * n
        entry = build_entry(Ref("user", actor.id, actor.name), *inputs, occurred_at=moment)
        rows.append(([entry["row"][column] for column in ROW_COLUMNS], sorted(entry["parties"])))
    return rows


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
        **{f"per_event_{key}": value for key, value in harness.summary_ms(samples).items()},
    }


# --- page queries ---------------------------------------------------------------------------------


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


def related_query_costs(app, viewer, repeat):
    """Time building and compiling the first page's query of each tab with a ``related``
    scope, for ``viewer`` (its arms: one per party on Activity, per person on Logins, two per
    person on Email), each in a fresh request context; medians in ms. Not run: how many
    parties a viewer has is what this cost grows with, not the rows."""
    from plugins.email import filters as email_filters
    from plugins.email import queries as email_queries
    from plugins.logins import filters as logins_filters
    from plugins.logins import queries as logins_queries

    tabs = {
        "activity": (parse_filters, queries.visible_events),
        "email": (email_filters.parse_filters, email_queries.visible_messages),
        "logins": (logins_filters.parse_filters, logins_queries.visible_attempts),
    }
    costs = {}
    for tab, (parse, visible) in tabs.items():
        build_ns, compile_ns = [], []
        for _ in range(repeat):
            with app.app_context(), app.test_request_context(f"/stream/{tab}"):
                filters = parse(request.args)
                t0 = time.perf_counter_ns()
                query = visible(viewer, filters, limit=PAGE_SIZE + 1)
                t1 = time.perf_counter_ns()
                query.sql()
                compile_ns.append(time.perf_counter_ns() - t1)
                build_ns.append(t1 - t0)
        costs[tab] = {
            "build_ms": round(statistics.median(build_ns) / 1e6, 3),
            "compile_ms": round(statistics.median(compile_ns) / 1e6, 3),
        }
    with app.app_context():
        costs["related_people"] = len(viewer.related_user_ids())
    return costs


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
        **harness.summary_ms(server_ns),
        "cpu_median_ms": round(statistics.median(cpu_ns) / 1e6, 3),
        "query_only": harness.summary_ms(query_ns),
        "with_template": harness.summary_ms(render_ns),
        "sql_statements": len(statements),
        "vm_steps": steps,
        "page_query_plan": main and {k: main[k] for k in main if k not in ("sql", "params")},
        "statements": statements,
    }
    log(f"{name}: median {result['median_ms']} ms, p95 {result['p95_ms']} ms")
    return result


def _scope(app, viewer):
    with app.test_request_context("/"):
        return row_scope(viewer, queries.TAB)
