"""Benchmark of the prune beside writers: how long a writer's event takes (one event per
transaction through ``record_activity``, as a request records one) while the prune removes
many old events, against the same writer without a prune.

Seeds ``--rows`` events over 90 days through the real bulk path (200 actors, 2 to 3 audience
parties each, the full-text index) and seals them (``core.evidence``, as the minute's task
would have), then, on each backend:

1. **alone**: the writer records for ``--seconds``, before the prune and again after it;
2. **beside the prune**: a separate process (as the task consumer is) prunes the Activity tab
   keeping ``--keep-days`` days (``core.retention.prune_tab``, batches of ``--batch``, then
   ``--pause-ms``) while the writer records, until the prune ends.

The writer records one event after the other (the default), or ``--rate`` events a second,
each timed from when it was due: a writer waiting on a batch then records nothing else
meanwhile, so one after the other a stall is one sample, while at a rate every event due
during it waits (as independent requests would).

Prints ONE JSON object on stdout (progress on stderr): per backend, the writer's p50 / p99 /
max ms alone and beside the prune, their p99 ratio (target ≤ 2), the prune's rows, seconds,
rows/s and the time each batch's transaction took (p50 / p99 / max ms).

    .venv/bin/python -m bench.retention                          # 200,000 events, both backends
    .venv/bin/python -m bench.retention --rows 1000000 --seconds 20
    .venv/bin/python -m bench.retention --backends sqlite --rate 200      # requests at 200/s

PostgreSQL: a throwaway database on ``--postgres-url``'s server, dropped afterwards.
"""

import argparse
import multiprocessing
import platform
import random
import time
import uuid
from datetime import timedelta

from flask import g

from bench import harness
from bench import stream
from core import retention
from core.config import DEFAULTS
from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.events import record_activity
from core.evidence.seal import seal_all
from core.tabs import get_tab

log = harness.logger("retention-bench")
TARGET_RATIO = 2.0


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="events seeded over 90 days")
    parser.add_argument("--keep-days", type=int, default=30, help="days the prune keeps")
    parser.add_argument(
        "--batch", type=int, default=DEFAULTS["RETENTION_BATCH_ROWS"], help="rows per batch"
    )
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=DEFAULTS["RETENTION_PAUSE_MS"],
        help="wait between two batches",
    )
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="the writer alone, before and after"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="events/s the writer is due to record, each timed from when it was due (an "
        "open loop: a stall delays every event due during it); 0: one after the other",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep", help="work in this directory and keep it (SQLite database)")
    return parser.parse_args(argv)


def write(app, actors, everyone, rng, until, rate=0):
    """Record events one by one, each in its own transaction, until ``until()`` is true;
    return each event's time in nanoseconds.

    ``rate`` 0: one after the other, each timed from its start (a writer that is held back
    records fewer events meanwhile, so a stall shows in one sample). Else ``rate`` events a
    second, each timed from when it was due: as requests arriving on their own, every one due
    during a stall waits for it."""
    samples = []
    interval = int(1e9 / rate) if rate else 0
    due = time.perf_counter_ns()
    with app.test_request_context(
        "/stream/activity",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
        headers={"User-Agent": "retention-bench/1.0"},
    ):
        while not until():
            actor = rng.choice(actors)
            verb, obj, changes, target, audience, summary = stream.event_inputs(rng, (), everyone)
            audience.teams = set()  # record_activity adds the actor's teams itself
            g.request_id = uuid.uuid4().hex
            if interval:
                due += interval
                early = due - time.perf_counter_ns()
                if early > 0:
                    time.sleep(early / 1e9)
            started = due if interval else time.perf_counter_ns()
            with database.atomic():
                record_activity(actor, verb, obj, changes, target, audience, summary)
            samples.append(time.perf_counter_ns() - started)
    return samples


def prune_in_process(database_url, workdir, days, batch, pause_ms, removing, out):
    """Prune the Activity tab in this (separate) process; set ``removing`` when its first
    batch starts (after sealing what was not sealed yet); put the outcome and each batch's
    transaction time (ns) on ``out``."""
    app = harness.build_app(database_url, workdir)
    timings = []
    remove = retention._remove

    def timed(feed, old, ids):
        removing.set()
        started = time.perf_counter_ns()
        try:
            return remove(feed, old, ids)
        finally:
            timings.append(time.perf_counter_ns() - started)

    retention._remove = timed  # measured here only: the time each batch holds its transaction
    with app.app_context():
        started = time.perf_counter()
        outcome = retention.prune_tab(get_tab("activity"), days, batch=batch, pause=pause_ms / 1000)
        seconds = time.perf_counter() - started
    harness.close_database()
    out.put({"removed": outcome.removed, "seconds": seconds, "batches_ns": timings})
    removing.set()


def stats(samples_ns):
    """Return p50, p99 and max of nanosecond samples, in milliseconds, and their count."""
    values = [sample / 1e6 for sample in samples_ns]
    return {
        "events": len(values),
        "p50_ms": round(harness.percentile(values, 0.50), 2),
        "p99_ms": round(harness.percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
    }


def run_backend(args, database_url, workdir):
    """Seed, then time the writer alone and beside the prune; return the backend's result."""
    app = harness.build_app(database_url, workdir)
    rng = random.Random(7)
    with app.app_context():
        actors, teams_of = stream.seed_users()
        everyone = stream.everyone_of(actors)
        if ActivityEvent.select().count() < args.rows:
            log(f"seeding {args.rows:,} events over {stream.DAYS} days")
            seeded = stream.bulk_ingest(args.rows, actors, teams_of, everyone, rng)
            log(f"seeded at {seeded['events_per_s']:,} events/s")
        # The minute's task seals records as they come; the prune seals what is left first.
        started = time.perf_counter()
        seal_all()
        log(f"sealed what was seeded in {time.perf_counter() - started:.1f} s (not timed)")
        cut_off = utcnow().replace(microsecond=0) - timedelta(days=args.keep_days)
        old = ActivityEvent.select().where(ActivityEvent.occurred_at < cut_off).count()
    log(f"{old:,} events older than {args.keep_days} days")
    # Warm the writer's connection and caches first (not timed).
    write(app, actors, everyone, rng, deadline(2))
    log(f"the writer alone for {args.seconds:g} s")
    alone = write(app, actors, everyone, rng, deadline(args.seconds), args.rate)
    harness.close_database()
    context = multiprocessing.get_context("spawn")
    out, removing = context.Queue(), context.Event()
    pruner = context.Process(
        target=prune_in_process,
        args=(database_url, workdir, args.keep_days, args.batch, args.pause_ms, removing, out),
    )
    log(f"the prune of {old:,} events, batches of {args.batch}, then the writer beside it")
    pruner.start()
    # The prune first seals what the writer added (core.evidence): timed apart, the writer
    # waiting, so the writer is timed beside the removal itself.
    started = time.perf_counter()
    removing.wait()
    sealing = time.perf_counter() - started
    beside = write(app, actors, everyone, rng, lambda: not pruner.is_alive(), args.rate)
    prune = out.get(timeout=600)
    pruner.join()
    if pruner.exitcode:
        raise RuntimeError(f"the prune's process exited with {pruner.exitcode}")
    # Alone again, after: the machine's other load moves, one short window is not enough.
    log(f"the writer alone again for {args.seconds:g} s")
    alone += write(app, actors, everyone, rng, deadline(args.seconds), args.rate)
    writer_alone, writer_beside = stats(alone), stats(beside)
    ratio = writer_beside["p99_ms"] / writer_alone["p99_ms"]
    log(f"p99 alone {writer_alone['p99_ms']} ms, beside the prune {writer_beside['p99_ms']} ms")
    return {
        "events_seeded": args.rows,
        "removed": prune["removed"],
        "prune_seconds": round(prune["seconds"], 1),
        "of_which_sealing_first_seconds": round(sealing, 1),
        "prune_rows_per_s": round(prune["removed"] / prune["seconds"]),
        "batch_rows": args.batch,
        "pause_ms": args.pause_ms,
        "writer": f"{args.rate:g} events/s, timed from when due" if args.rate else "one by one",
        "batch_transaction": stats(prune["batches_ns"]) if prune["batches_ns"] else None,
        "writer_alone": writer_alone,
        "writer_beside_prune": writer_beside,
        "p99_ratio": round(ratio, 2),
        "pass": ratio <= TARGET_RATIO,
    }


def deadline(seconds):
    """Return a function telling whether ``seconds`` have passed since now."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() >= end


def run(args, workdir, result):
    """Run each backend asked for; fill ``result``."""
    result.update(
        {
            "bench": "retention",
            "target_p99_ratio": TARGET_RATIO,
            "machine": {"python": platform.python_version(), "cpus": multiprocessing.cpu_count()},
            "code": harness.git_state(),
        }
    )
    for backend in args.backends.split(","):
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'retention.db'}"
            result["sqlite"] = run_backend(args, url, workdir)
        elif backend == "postgresql":
            with harness.throwaway_postgres(args.postgres_url, "bench_retention") as url:
                result["postgresql"] = run_backend(args, url, workdir)
        else:
            raise ValueError(f"--backends: {backend!r} is neither sqlite nor postgresql")
        harness.close_database()


def main(argv=None):
    """Parse the command line, run, print the JSON; return the exit status."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "retention-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    raise SystemExit(main())
