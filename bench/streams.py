"""Log streams (``plugins.streams``): how fast records reach a receiver, beside their floors, and
what active destinations cost the write path.

```sh
.venv/bin/python -m bench.streams                               # SQLite file, 20,000 events
.venv/bin/python -m bench.streams --postgres                    # a throwaway PostgreSQL database
.venv/bin/python -m bench.streams --postgres postgresql://postgres@127.0.0.1:5432/postgres
.venv/bin/python -m bench.streams --events 2000 --repeat 1 --record-events 100   # smallest
```

Options: ``--events N`` (default 20,000), ``--batches 1,100,500`` (records per request),
``--batch-one-events N`` (records sent with batches of 1, default 2,000: each is a request and
a commit), ``--record-events N`` (events recorded one by one per phase, default 1,000),
``--repeat R`` (rounds of the write-path phases, default 3), ``--pump thread|process``,
``--postgres [URL]`` (on a
throwaway database of URL's server, dropped afterwards; default
``ACTIVITY_STREAM_TEST_POSTGRES_URL`` or the local server), ``--keep DIR``.

What it does:

1. Seeds the demo people and N Activity events through the bulk path (``record_entries``).
2. **Delivery**, for each batch size: a destination sending the Activity tab as the Super
   Admin sees it, placed before the last N events (``--batch-one-events`` for batches of 1),
   and ``plugins.streams.tasks.pump_once`` called in a loop until they are all acknowledged by
   a ``tests.receiver.Receiver`` on loopback (a real HTTP server). Reports records/s and
   requests/s. Floors, in the same run: **HTTP**, the same bodies (and headers) POSTed again by
   plain ``http.client`` on one kept-alive connection to a fresh receiver; **read**, the same
   rows read by the plain driver (``sqlite3`` / ``psycopg2``), batch by batch by id. What is
   left is the app's work per batch: the read through the tab's query with the owner's
   visibility, the records' API shape, JSON, the signature, the commit of the place and the
   delivery log.
3. **Write path**: ``record_activity`` one event per transaction, inside a request context,
   without a pump (no destination: the write path has nothing else to do) and with 3 active
   destinations on 3 receivers while a pump thread runs ``pump_once`` every second as the
   queue's chain does, alternated over ``--repeat`` rounds (the order flips each round), 100
   events of warm-up untimed per phase. Reports events/s of each and the difference. Target:
   at most 5 % slower with the destinations. The pump is a thread of this process (in
   production it runs in the task consumer's process): its Python work competes for this
   process's interpreter lock too, so the figure is pessimistic; ``--pump process`` runs it in
   a process of its own instead (the task consumer's place).
"""

import argparse
import functools
import http.client
import os
import socket
import sqlite3
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
from flask import g

from bench import harness
from core.db import database
from core.db import is_sqlite
from core.events import ActivityEvent
from core.events import Ref
from core.events import build_entry
from core.events import record_activity
from core.events import record_entries
from core.people import User
from plugins.streams import delivery
from plugins.streams import destinations
from plugins.streams.models import StreamCursor
from plugins.streams.models import StreamDelivery
from plugins.streams.models import StreamDestination
from plugins.streams.tasks import INTERVAL
from plugins.streams.tasks import pump_once
from tests.receiver import Receiver

log = harness.logger("streams")

SECRET = "bench-stream-secret-0123456789"
OWNER_EMAIL = "owner@example.com"
ACTOR_EMAIL = "admin@example.com"
SEED_BATCH = 10_000
WARM_UP_EVENTS = 100
TARGET_WRITE_SLOWDOWN_PCT = 5.0
DEFAULT_POSTGRES = os.environ.get(
    "ACTIVITY_STREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def parse_args(argv):
    """Read the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.streams", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=20_000, help="events seeded and sent")
    parser.add_argument("--batches", default="1,100,500", help="records per request, tried")
    parser.add_argument(
        "--batch-one-events", type=int, default=2000, help="records sent with batches of 1"
    )
    parser.add_argument(
        "--record-events", type=int, default=1000, help="events recorded one by one per phase"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the write-path phases")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_POSTGRES,
        default=None,
        metavar="URL",
        help="run on a throwaway database of this PostgreSQL server",
    )
    parser.add_argument(
        "--pump",
        choices=("thread", "process"),
        default="thread",
        help="where the pump runs beside the writer: a thread of this process, or a process",
    )
    parser.add_argument("--keep", default=None, help="work in this directory and keep it")
    args = parser.parse_args(argv)
    try:
        args.batches = [int(part) for part in args.batches.split(",") if part.strip()]
    except ValueError:
        parser.error("--batches: comma-separated whole numbers, e.g. 1,100,500")
    if not args.batches or not all(1 <= size <= 1000 for size in args.batches):
        parser.error("--batches: each from 1 to 1000 (STREAM_BATCH_RECORDS' bounds)")
    if args.events < 100 or args.batch_one_events < 1:
        parser.error("--events: at least 100; --batch-one-events: at least 1")
    if args.record_events < 10 or args.repeat < 1:
        parser.error("--record-events: at least 10; --repeat: at least 1")
    return args


# --- seeding --------------------------------------------------------------------------------


def seed_events(app, count):
    """Record ``count`` Activity events by the admin through the bulk path; return their ids."""
    with app.app_context():
        actor = User.get(User.email == ACTOR_EMAIL)
        ids = []
        for start in range(0, count, SEED_BATCH):
            entries = [
                build_entry(
                    actor,
                    "task.updated",
                    Ref("task", n % 5000, f"Task {n % 5000}"),
                    changes={"status": ["open", "done"]},
                )
                for n in range(start, min(count, start + SEED_BATCH))
            ]
            with database.atomic():
                ids += record_entries(entries)
        return ids


def add_destination(app, url, name):
    """Add a destination sending the Activity tab as the Super Admin sees it; return its id."""
    with app.app_context():
        owner = User.get(User.email == OWNER_EMAIL)
        return destinations.add(owner, name, url, tabs=["activity"], secret=SECRET).id


def place_at(app, destination_id, last_id):
    """Put the destination's place in the Activity tab at ``last_id``."""
    with app.app_context():
        StreamCursor.update(last_id=last_id).where(
            (StreamCursor.destination_id == destination_id) & (StreamCursor.tab == "activity")
        ).execute()


def remove_all(app):
    """Remove every destination (their places and logs too)."""
    with app.app_context():
        for row in StreamDestination.select(StreamDestination.id):
            destinations.remove(row.id)


# --- delivery and its floors ----------------------------------------------------------------


def receiver():
    """Return a ``tests.receiver.Receiver`` whose answers leave at once (``TCP_NODELAY``, as
    nginx and most servers set): ``http.server`` writes an answer's headers and body apart, and
    with Nagle's algorithm the body then waits for the client's delayed ACK, 40 ms a request
    on Linux, which would be all that is measured."""
    running = Receiver()
    handler = running.server.RequestHandlerClass
    running.server.RequestHandlerClass = type(
        "NoDelayHandler", (handler,), {"disable_nagle_algorithm": True}
    )
    return running


def settings_for(app, batch):
    """Return the sending settings of ``app`` with ``batch`` records per request."""
    base = delivery.Settings.from_config(app.config)
    return delivery.Settings(
        batch=batch,
        timeout=base.timeout,
        retry_seconds=base.retry_seconds,
        pause_after=base.pause_after,
    )


def deliver(app, ids, batch):
    """Send the last records of ``ids`` with ``batch`` records per request by ``pump_once`` in
    a loop; return the figures and the requests the receiver kept (headers, body)."""
    count = len(ids)
    settings = settings_for(app, batch)
    with receiver() as receiving:
        destination_id = add_destination(app, receiving.url, f"bench-{batch}")
        place_at(app, destination_id, ids[0] - 1)
        sent = pumps = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        while sent < count:
            got = pump_once(app, settings)
            pumps += 1
            if got == 0:
                raise RuntimeError(f"batch {batch}: a pump sent nothing after {sent} records")
            sent += got
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        requests = list(receiving.requests)
    remove_all(app)
    if sent != count or sum(body.count(b'"tab":"activity"') for _, body in requests) != count:
        raise RuntimeError(f"batch {batch}: {sent} records acknowledged of {count}")
    return {
        "batch": batch,
        "records": count,
        "requests": len(requests),
        "pumps": pumps,
        "seconds": round(seconds, 3),
        "records_per_s": round(count / seconds),
        "requests_per_s": round(len(requests) / seconds),
        # This process's CPU (the receiver's threads included): steadier on a busy machine.
        "cpu_ms_per_request": round(cpu * 1000 / len(requests), 3),
        "bytes_per_record": round(sum(len(body) for _, body in requests) / count),
    }, requests


def http_floor(requests, nodelay=False):
    """POST the same bodies and headers with plain ``http.client`` on one kept-alive connection
    to a fresh receiver (with ``nodelay``, the client's socket sends at once too); return
    records/s and requests/s."""
    records = sum(body.count(b'"tab":"activity"') for _, body in requests)
    with receiver() as receiving:
        parts = urlsplit(receiving.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.connect()
        if nodelay:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wanted = ("Content-Type", "User-Agent", "Activity-Stream-Signature")
        started = time.perf_counter()
        for headers, body in requests:
            sent = {key: value for key, value in headers.items() if key in wanted}
            sent["Activity-Stream-Delivery"] = str(uuid.uuid4())
            connection.request("POST", parts.path, body=body, headers=sent)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"the floor's receiver answered {response.status}")
        seconds = time.perf_counter() - started
        connection.close()
    return {
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        "requests_per_s": round(len(requests) / seconds),
    }


def read_floor(database_url, first_id, last_id, batch):
    """Read events ``first_id``..``last_id`` with the plain driver, ``batch`` rows at a time by
    id (every column), as a follower would with nothing else to do; return rows/s."""
    table = ActivityEvent._meta.table_name
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(urlsplit(database_url).path[1:])
        mark = "?"
    else:
        connection = psycopg2.connect(database_url)
        mark = "%s"
    sql = f"SELECT * FROM {table} WHERE id > {mark} AND id <= {mark} ORDER BY id LIMIT {mark}"
    rows = 0
    cursor_id = first_id - 1
    started = time.perf_counter()
    try:
        cursor = connection.cursor()
        while cursor_id < last_id:
            cursor.execute(sql, (cursor_id, last_id, batch))
            found = cursor.fetchall()
            if not found:
                break
            rows += len(found)
            cursor_id = found[-1][0]
        if not database_url.startswith("sqlite"):
            connection.rollback()
    finally:
        connection.close()
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 4), "rows_per_s": round(rows / seconds)}


# --- the write path -------------------------------------------------------------------------


class Pump(threading.Thread):
    """Calls ``pump_once`` every ``INTERVAL`` seconds until halted, as the queue's chain does
    (there in the task consumer's process)."""

    def __init__(self, app):
        super().__init__(daemon=True, name="pump")
        self.app = app
        self.settings = app.extensions["streams.settings"]
        self.halt = threading.Event()
        self.pumps = self.sent = 0
        self.busy_s = 0.0
        self.error = None

    def run(self):
        """Pump, wait for the next interval, again."""
        try:
            while not self.halt.is_set():
                started = time.perf_counter()
                self.sent += pump_once(self.app, self.settings)
                took = time.perf_counter() - started
                self.pumps += 1
                self.busy_s += took
                self.halt.wait(max(0.0, INTERVAL - took))
        except Exception as error:  # reported with the phase, not lost in the thread
            self.error = f"{type(error).__name__}: {error}"

    def stop(self):
        """Halt after the current pump; return what it did."""
        self.halt.set()
        self.join()
        if self.error:
            raise RuntimeError(f"the pump failed: {self.error}")
        return {"pumps": self.pumps, "records_sent": self.sent, "busy_s": round(self.busy_s, 2)}


def record_phase(app, count):
    """Record ``count`` events one by one (each in its own transaction) after a warm-up;
    return events/s and the CPU per event."""
    with app.app_context():
        actor = User.get(User.email == ACTOR_EMAIL)
    with app.test_request_context(
        "/stream/activity",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"User-Agent": "streams-bench/1.0"},
    ):
        for n in range(WARM_UP_EVENTS + count):
            if n == WARM_UP_EVENTS:
                started = time.perf_counter()
                cpu_started = time.process_time()
            g.request_id = uuid.uuid4().hex
            with database.atomic():
                record_activity(
                    actor,
                    "task.updated",
                    Ref("task", n % 5000, f"Task {n % 5000}"),
                    changes={"status": ["open", "done"]},
                )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return {
        "events": count,
        "seconds": round(seconds, 3),
        "events_per_s": round(count / seconds),
        "cpu_ms_per_event": round(cpu * 1000 / count, 3),
    }


def write_path(app, args, new_pump):
    """Time one-by-one recording without and with 3 active destinations and a pump from
    ``new_pump()``, alternated; return the figures."""
    rounds = []
    receivers = [receiver().__enter__() for _ in range(3)]
    try:
        for index in range(args.repeat):
            order = (False, True) if index % 2 == 0 else (True, False)
            entry = {}
            for with_pump in order:
                label = "with_3_destinations" if with_pump else "without"
                log(f"write path, round {index + 1}: {label}")
                if not with_pump:
                    entry[label] = record_phase(app, args.record_events)
                    continue
                with app.app_context():
                    newest = ActivityEvent.select(ActivityEvent.id).order_by(
                        ActivityEvent.id.desc()
                    )
                    newest = newest.limit(1).scalar() or 0
                for number, receiving in enumerate(receivers):
                    destination_id = add_destination(app, receiving.url, f"write-{number}")
                    place_at(app, destination_id, newest)  # only what is recorded from now on
                pump = new_pump()
                pump.start()
                try:
                    phase = record_phase(app, args.record_events)
                finally:
                    done = pump.stop()
                # What the pump had not sent yet when the phase ended, sent now (untimed).
                with app.app_context():
                    pending = StreamDelivery.select().count()
                pump_once(app, app.extensions["streams.settings"])
                phase["pump"] = {**done, "deliveries_logged": pending}
                remove_all(app)
                entry[label] = phase
            rounds.append(entry)
    finally:
        for receiving in receivers:
            receiving.__exit__(None, None, None)
    without = [entry["without"]["events_per_s"] for entry in rounds]
    with_ = [entry["with_3_destinations"]["events_per_s"] for entry in rounds]
    without_rate = combined([entry["without"] for entry in rounds])
    with_rate = combined([entry["with_3_destinations"] for entry in rounds])
    difference = round((with_rate - without_rate) / without_rate * 100, 1)
    log(f"write path: {without_rate:,} events/s without, {with_rate:,} with ({difference:+} %)")
    return {
        "rounds": rounds,
        "without_events_per_s": without_rate,
        "with_3_destinations_events_per_s": with_rate,
        "difference_pct": difference,
        "median_without_events_per_s": round(statistics.median(without)),
        "median_with_3_destinations_events_per_s": round(statistics.median(with_)),
    }


def combined(phases):
    """Return the events/s of ``phases`` taken together."""
    return round(sum(p["events"] for p in phases) / sum(p["seconds"] for p in phases))


# --- the run --------------------------------------------------------------------------------


def measure(args, database_url, workdir, result):
    """Seed, then measure delivery with its floors and the write path; fill ``result``."""
    log(f"database {harness.redact(database_url)}")
    result["config"] = {
        "events": args.events,
        "batches": args.batches,
        "batch_one_events": min(args.batch_one_events, args.events),
        "record_events": args.record_events,
        "repeat": args.repeat,
        "database_url": harness.redact(database_url),
        "cpus": os.cpu_count(),
        "load_average_1m": {"start": round(os.getloadavg()[0], 2)},
        "git": harness.git_state(),
    }
    app = harness.build_app(database_url, workdir)
    harness.seed_demo_people(app)
    log(f"seeding {args.events:,} events")
    ids = seed_events(app, args.events)
    if is_sqlite():
        with app.app_context():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with app.app_context():
            database.execute_sql("ANALYZE")
    result["delivery"] = []
    for batch in args.batches:
        chosen = ids[-min(args.batch_one_events, len(ids)) :] if batch == 1 else ids
        log(f"delivery: {len(chosen):,} records, {batch} per request")
        figures, requests = deliver(app, chosen, batch)
        figures["http_floor"] = http_floor(requests)
        # Not a floor of the code as it is: what sending at once (TCP_NODELAY) would give.
        figures["http_floor_client_nodelay"] = http_floor(requests, nodelay=True)
        figures["read_floor"] = read_floor(database_url, chosen[0], chosen[-1], batch)
        figures["vs_http_floor"] = round(
            figures["records_per_s"] / figures["http_floor"]["records_per_s"], 3
        )
        log(
            f"batch {batch}: {figures['records_per_s']:,} records/s; floors: HTTP"
            f" {figures['http_floor']['records_per_s']:,}, read"
            f" {figures['read_floor']['rows_per_s']:,}"
        )
        result["delivery"].append(figures)
    result["config"]["load_average_1m"]["before_write_path"] = round(os.getloadavg()[0], 2)
    if args.pump == "process":
        new_pump = functools.partial(harness.ProcessBeside, Pump, database_url, workdir, "pump")
    else:
        new_pump = lambda: Pump(app)  # noqa: E731
    result["config"]["pump"] = args.pump
    result["write_path"] = write_path(app, args, new_pump)
    difference = result["write_path"]["difference_pct"]
    result["targets"] = [
        {
            "name": "write path with 3 active destinations and a pump",
            "value": difference,
            "target": f">= -{TARGET_WRITE_SLOWDOWN_PCT} %",
            "pass": difference >= -TARGET_WRITE_SLOWDOWN_PCT,
        }
    ]
    result["config"]["load_average_1m"]["end"] = round(os.getloadavg()[0], 2)


def run(args, workdir, result):
    """Measure on a SQLite file in ``workdir``, or on a throwaway PostgreSQL database."""
    if args.postgres:
        with harness.throwaway_postgres(args.postgres, "bench_streams") as url:
            measure(args, url, workdir, result)
    else:
        measure(args, f"sqlite:///{Path(workdir) / 'bench.db'}", workdir, result)


def main(argv=None):
    """Run the benchmark and print its JSON: exit 0 even if the target is missed, 1 on error."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "streams-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
