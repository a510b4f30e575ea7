"""Benchmark of reading the API over HTTP: ``GET /api/v1/activity?limit=50`` with a bearer
token, each page's latency beside its floors measured in the same run. Prints ONE JSON object
on stdout (progress, and a line per measurement, on stderr).

Seeds ``--events`` events (the Activity bench's world, ``bench.stream``, through the real bulk
path) in a SQLite file, and with ``--postgres`` in a throwaway PostgreSQL database too (dropped
afterwards); makes a ``read`` token for the Admin (scope ``all``); serves the app as deployed
(gunicorn, ``core.serving``, 2 threaded workers) on a free loopback port; then, from each
number of keep-alive connections at once in ``--clients`` (threads, ``http.client``), sends
``--requests`` timed GETs of each page (after 10 untimed ones per connection):

- ``first``: ``/api/v1/activity?limit=50``;
- ``deep``: the pages below it, each connection following the ``Link: rel="next"`` of the
  answer it just read, from the second page down (back to the second at the end of the list);
- ``filtered``: ``?limit=50&q=actor:bench001@example.com``, one actor of 200.

Each gives p50/p95/p99, requests/s and the gunicorn workers' CPU per request, beside:

- ``http_floor``: ``GET /api/v1/`` with the same token at the same concurrency: the cheapest
  request that still pays what every API read pays (HTTP, gunicorn, Flask, the API's gate on
  the token, the tabs its person may read) and nothing of the page. Cheaper requests (the
  public ``/api/v1/openapi.json``, a static file) skip the token, so the gap to them would
  count the gate as the page's; the OpenAPI document is also built, 26 KB, on each request.
- ``sql_floor``: the same page's SQL written by hand (the columns the answer shows, the same
  condition, newest first, ``LIMIT 51``) run one at a time with plain ``sqlite3`` or
  ``psycopg2`` in this process; ``same_rows`` says it found the ids the API answered.

No targets: the exit code is 0 unless the bench fails.

    .venv/bin/python -m bench.api_read                      # 100,000 events, SQLite
    .venv/bin/python -m bench.api_read --postgres           # SQLite, then PostgreSQL
    .venv/bin/python -m bench.api_read --events 5000 --requests 200 --clients 1,4
"""

import argparse
import contextlib
import http.client
import json
import os
import re
import sqlite3
import sys
import threading
import time
from urllib.parse import urlencode
from urllib.parse import urlsplit

import psycopg2

from bench import harness
from bench import stream
from bench.export import FLOOR_COLUMNS
from bench.export import seed
from core.db import SQLITE_PRAGMAS
from core.db import database
from core.people import User
from plugins.api.tokens import create_token

log = harness.logger("api-read")

LIMIT = 50
ACTOR_EMAIL = "bench001@example.com"  # one of the 200 actors: about 1 event in 200
WARM_UP = 10  # untimed requests per connection: it opens, the workers' caches fill
WORKERS = 2
MIN_EVENTS = 1000
RATE_LIMIT = 1_000_000  # requests a minute per token: the most the setting takes

# The pages as one writes them by hand: the columns a row of the answer shows, newest first.
FIRST_SQL = f"SELECT {FLOOR_COLUMNS} FROM activity_event ORDER BY id DESC LIMIT {LIMIT + 1}"
AFTER_SQL = (
    f"SELECT {FLOOR_COLUMNS} FROM activity_event WHERE id < ? ORDER BY id DESC LIMIT {LIMIT + 1}"
)
ACTOR_SQL = (
    f"SELECT {FLOOR_COLUMNS} FROM activity_event WHERE actor_id = ?"
    f" ORDER BY id DESC LIMIT {LIMIT + 1}"
)


def at_least(minimum):
    """Return an argparse type: a whole number of at least ``minimum``."""

    def parse(text):
        if not text.isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number ≥ {minimum}, got {text!r}")
        return int(text)

    return parse


def client_counts(text):
    """Return the numbers of connections of ``--clients`` (``1,8``), each 1 to 64."""
    counts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and 1 <= int(part) <= 64 for part in counts):
        raise argparse.ArgumentTypeError(f"expected numbers 1 to 64 like 1,8, got {text!r}")
    return [int(part) for part in counts]


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=at_least(MIN_EVENTS), default=100_000, help="events seeded (≥ 1,000)"
    )
    parser.add_argument(
        "--requests", type=at_least(100), default=1000, help="timed GETs per page and --clients"
    )
    parser.add_argument(
        "--clients", type=client_counts, default=[1, 8], help="connections at once: 1,8"
    )
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ACTIVITY_STREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="the server on which --postgres creates its throwaway database",
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it: a rerun tops it up")
    args = parser.parse_args(argv)
    if args.requests < max(args.clients):
        parser.error("--requests: at least one per connection of --clients")
    return args


# --- over HTTP ------------------------------------------------------------------------------


def next_path(link):
    """Return the path and query of a ``Link`` header's ``rel="next"`` URL, or None."""
    match = re.search(r'<([^>]+)>;\s*rel="next"', link or "")
    if match is None:
        return None
    parts = urlsplit(match.group(1))
    return f"{parts.path}?{parts.query}"


def latency(samples_ns):
    """Return p50, p95 and p99 of nanosecond samples, in milliseconds."""
    values = [sample / 1e6 for sample in samples_ns]
    return {f"p{n}_ms": round(harness.percentile(values, n / 100), 3) for n in (50, 95, 99)}


def load(port, token, start, follow, requests, clients, workers):
    """GET ``start`` ``requests`` times in all from ``clients`` keep-alive connections at once,
    each following its last answer's next link when ``follow`` (``start`` is then the second
    page); return the latencies, requests/s, the ``workers``' CPU per request and, when
    following, the deepest page a connection read."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    samples, failures, lock = [], [], threading.Lock()
    warmed = threading.Barrier(clients + 1, timeout=300)
    go = threading.Event()
    deepest = [2]

    def client(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path, depth, mine = start, 2, []
        try:
            for n in range(WARM_UP + count):
                if n == WARM_UP:
                    warmed.wait()
                    go.wait()
                began = time.perf_counter_ns()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                if n >= WARM_UP:
                    mine.append(time.perf_counter_ns() - began)
                if response.status != 200:
                    raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]!r}")
                if follow:
                    path = next_path(response.getheader("Link"))
                    path, depth = (path, depth + 1) if path else (start, 2)
                    deepest[0] = max(deepest[0], depth)
        except Exception as error:  # the main thread reports it and stops
            with lock:
                failures.append(f"{type(error).__name__}: {error}")
            warmed.abort()
        finally:
            connection.close()
        with lock:
            samples.extend(mine)

    shares = [requests // clients + (n < requests % clients) for n in range(clients)]
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    # A connection that failed while warming up breaks the barrier; its error is in failures.
    with contextlib.suppress(threading.BrokenBarrierError):
        warmed.wait()
    cpu = sum(harness.cpu_seconds(pid) for pid in workers)
    began = time.perf_counter()
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = sum(harness.cpu_seconds(pid) for pid in workers) - cpu
    if failures:
        raise RuntimeError(f"{len(failures)} connections failed, first: {failures[0]}")
    result = {
        **latency(samples),
        "requests_per_s": round(requests / elapsed, 1),
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 3),
    }
    if follow:
        result["deepest_page"] = deepest[0]
    return result


def api_page(port, token, path):
    """Return the ids of one page the API answers and the path of the next one."""
    status, headers, text = harness.request(port, "GET", path, {"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}: {text[:300]}")
    link = dict((name.lower(), value) for name, value in headers).get("link")
    return [row["id"] for row in json.loads(text)["data"]], next_path(link)


# --- the SQL floor --------------------------------------------------------------------------


def plain_cursor(database_url):
    """Return a cursor of the plain driver on the bench database (SQLite with the app's pragmas,
    PostgreSQL in autocommit, as the app reads) and its parameter mark."""
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        for name, value in SQLITE_PRAGMAS.items():
            connection.execute(f"PRAGMA {name} = {value}")
        return connection.cursor(), "?"
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    return connection.cursor(), "%s"


def sql_floor(database_url, actor_id, requests):
    """Time each page's hand-written SQL ``requests`` times, one at a time, after 20 untimed
    runs; the deep page walks down by the last id as the API's cursor does. Return the
    latencies and the ids of each page's first run (the first deep page is the second page)."""
    cursor, mark = plain_cursor(database_url)

    def rows(sql, params=()):
        cursor.execute(sql.replace("?", mark), params)
        return cursor.fetchall()

    page_two = rows(FIRST_SQL)[LIMIT - 1][0]  # the first page's cursor: the second page
    pages = {
        "first": lambda _after: rows(FIRST_SQL),
        "deep": lambda after: rows(AFTER_SQL, (after,)),
        "filtered": lambda _after: rows(ACTOR_SQL, (actor_id,)),
    }
    result = {}
    for name, page in pages.items():
        after, samples, ids = page_two, [], None
        for n in range(20 + requests):
            began = time.perf_counter_ns()
            found = page(after)
            if n >= 20:
                samples.append(time.perf_counter_ns() - began)
            ids = ids or [row[0] for row in found[:LIMIT]]
            after = found[LIMIT - 1][0] if len(found) > LIMIT else page_two
        result[name] = {"latency": latency(samples), "ids": ids}
    cursor.connection.close()
    return result


# --- one database ---------------------------------------------------------------------------


def prepare(args, workdir, database_url, label):
    """Seed ``database_url`` up to ``--events`` events; return how many it holds, a ``read``
    token of the Admin and the id of the filtered page's actor."""
    # The bench sends far more than a client may: lift the token's rate for its server.
    os.environ["ACTIVITY_STREAM_API_RATE_LIMIT"] = str(RATE_LIMIT)
    app = harness.build_app(database_url, workdir, API_RATE_LIMIT=RATE_LIMIT)
    log(f"{label}: seeding up to {args.events:,} events")
    stored = seed(app, args.events)
    with app.app_context():
        if not database_url.startswith("sqlite"):
            # Autovacuum would analyze the new rows a little later; the app's SQLite runs none.
            database.execute_sql("ANALYZE")
        with database.atomic():
            admin = User.get(User.email == stream.ADMIN_EMAIL)
            token = create_token(admin, "api read bench", "read", by=None)[1]
        actor_id = User.get(User.email == ACTOR_EMAIL).id
    harness.close_database()
    os.sync()  # the seeding's writes are flushed before anything is timed
    return stored, token, actor_id


def measure(args, workdir, database_url, label):
    """Seed ``database_url``, serve it, and time every page and both floors; return them."""
    stored, token, actor_id = prepare(args, workdir, database_url, label)
    first = f"/api/v1/activity?{urlencode({'limit': LIMIT})}"
    filtered = f"/api/v1/activity?{urlencode({'limit': LIMIT, 'q': f'actor:{ACTOR_EMAIL}'})}"
    result = {"database_url": harness.redact(database_url), "events": stored}
    server = harness.gunicorn(database_url, workdir / f"gunicorn-{label}.log", WORKERS)
    with server as (port, process):
        # The token's first use is recorded as an event: before the pages are compared.
        harness.request(port, "GET", "/api/v1/", {"Authorization": f"Bearer {token}"})
        first_ids, deep = api_page(port, token, first)
        api_ids = {
            "first": first_ids,
            "deep": api_page(port, token, deep)[0],
            "filtered": api_page(port, token, filtered)[0],
        }
        workers = harness.children_of(process.pid)  # both serving by now
        if len(workers) != WORKERS:
            raise RuntimeError(f"gunicorn runs {len(workers)} workers, not {WORKERS}")
        log(f"{label}: SQL floor, {args.requests} runs of each page")
        floor = sql_floor(database_url, actor_id, args.requests)
        result["same_rows"] = all(floor[name]["ids"] == api_ids[name] for name in api_ids)
        result["http_floor"] = {"path": "/api/v1/"}
        result["pages"] = {
            name: {"path": path, "rows": len(api_ids[name]), "sql_floor": floor[name]["latency"]}
            for name, path in (("first", first), ("deep", deep), ("filtered", filtered))
        }
        for clients in args.clients:
            key = f"clients_{clients}"
            http_floor = load(port, token, "/api/v1/", False, args.requests, clients, workers)
            result["http_floor"][key] = http_floor
            log(f"{label} {key} http floor: {_line(http_floor)}")
            for name, entry in result["pages"].items():
                follow = name == "deep"
                entry[key] = load(
                    port, token, entry["path"], follow, args.requests, clients, workers
                )
                log(
                    f"{label} {key} {name}: {_line(entry[key])} | http floor p50 "
                    f"{http_floor['p50_ms']} ms, SQL floor p50 {entry['sql_floor']['p50_ms']} ms"
                )
    return result


def _line(timed):
    return (
        f"p50 {timed['p50_ms']} p95 {timed['p95_ms']} p99 {timed['p99_ms']} ms, "
        f"{timed['requests_per_s']:,}/s, server CPU {timed['server_cpu_ms_per_request']} ms/req"
    )


def run(args, workdir, result):
    """Measure on SQLite, then (``--postgres``) on a throwaway PostgreSQL database."""
    result["config"] = {
        "events": args.events,
        "requests": args.requests,
        "clients": args.clients,
        "limit": LIMIT,
        "gunicorn_workers": WORKERS,
        "warm_up_per_connection": WARM_UP,
        "cpus": os.cpu_count(),
        "load_average_1m": {"start": round(os.getloadavg()[0], 2)},
        "git": harness.git_state(),
    }
    result["sqlite"] = measure(args, workdir, f"sqlite:///{workdir / 'api_read.db'}", "sqlite")
    harness.close_database()
    if args.postgres:
        with harness.throwaway_postgres(args.postgres_url, "bench_api_read") as url:
            result["postgresql"] = measure(args, workdir, url, "postgresql")
    result["config"]["load_average_1m"]["end"] = round(os.getloadavg()[0], 2)


def main(argv=None):
    """Run the benchmark and print its JSON: exit 0 unless it fails."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "api-read-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
