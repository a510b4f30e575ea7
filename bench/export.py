"""Benchmark of exports (``core.listing.export``); prints ONE JSON object on stdout.

Seeds ``--events`` events (the Activity bench's world, ``bench.stream``, through the real bulk
path) in a SQLite file, serves the app as deployed (gunicorn, one threaded worker) on a free
loopback port, signs in as the Admin (scope ``all``) and downloads the Activity tab's whole
export, unfiltered, over HTTP, reading and dropping it as it comes:

- ``export``: rows/s and MB/s for CSV (and JSON Lines), the rows counted in the body;
- ``worker_rss``: the worker's VmRSS (``/proc/<pid>/status``) after a warm-up export, sampled
  every 50 ms during the big one, and its growth (target: ≤ 20 MB at 1,000,000 rows);
- ``floor``: plain ``sqlite3`` writing the same rows of the same table as CSV (the ``csv``
  module over a cursor, newest first, the list's columns) to /dev/null, in the same run;
  ``ratio`` is the export's rows/s over the floor's (target ≥ 0.5), ``ratio_cpu`` the same
  per CPU second (the worker's, the floor's process): steadier on a busy machine. The floor's
  bytes must equal the export's (``same_csv``): the same rows, columns and cells.

It is a benchmark, not a test: a missed target is reported (``"pass": false``), exit code 0.

    .venv/bin/python -m bench.export                    # 1,000,000 events, temp SQLite
    .venv/bin/python -m bench.export --events 100000
    .venv/bin/python -m bench.export --keep /tmp/eb     # keep the database (a rerun tops it up)
"""

import argparse
import csv
import hashlib
import http.client
import io
import json
import random
import sqlite3
import threading
import time
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from bench import harness
from bench import stream
from core.events import ActivityEvent
from core.people import User

log = harness.logger("export")


def seed(app, events):
    """Seed the bench world's people and ``events`` events; return how many are stored."""
    with app.app_context():
        actors, teams_of = stream.seed_users()
        stored = ActivityEvent.select().count()
        if stored < events:
            everyone = stream.everyone_of(actors)
            stream.bulk_ingest(events - stored, actors, teams_of, everyone, random.Random(7))
        return ActivityEvent.select().count()


class RssSampler(threading.Thread):
    """Sample ``pid``'s VmRSS every ``every`` seconds until stopped; keep the largest."""

    def __init__(self, pid, every=0.05):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0.0
        self.halt = threading.Event()

    def run(self):
        """Sample until ``halt`` is set."""
        while not self.halt.is_set():
            self.peak = max(self.peak, harness.memory_mb(self.pid)["rss_mb"])
            time.sleep(self.every)


def download(port, cookie, fmt, filters=""):
    """Download the Activity tab's export in ``fmt`` (of everything, or of ``filters``, a query
    string); return its size, lines, seconds, SHA-256 and first bytes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    url = f"/stream/activity/export?format={fmt}{filters}"
    connection.request("GET", url, headers={"Cookie": cookie})
    response = connection.getresponse()
    if response.status != 200:
        raise RuntimeError(f"the export answered {response.status}: {response.read()[:300]}")
    size = lines = 0
    digest = hashlib.sha256()
    head = b""
    while chunk := response.read(1 << 16):
        size += len(chunk)
        lines += chunk.count(b"\n")
        digest.update(chunk)
        head = head or chunk[:4096]
    seconds = time.perf_counter() - started
    connection.close()
    return {
        "size": size,
        "lines": lines,
        "seconds": seconds,
        "sha256": digest.hexdigest(),
        "head": head,
    }


FLOOR_COLUMNS = (
    "id, occurred_at, actor_id, actor_name, actor_role, actor_external_id, verb, action,"
    " object_type, object_id, object_label, target_type, target_id, target_label, summary"
)
HEADER = ["id", "occurred_at", "occurred_at_local", "actor", "verb", "action", "object"]
HEADER += ["target", "summary"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def floor(path, below, zone):
    """Write the same CSV as the Admin's export (the rows below id ``below``, newest first,
    the Activity tab's columns, nested values as JSON, local times, formulas neutralised) with
    plain ``sqlite3`` and the ``csv`` module over a cursor, the way one writes it by hand;
    return its rows/s and the SHA-256 of its bytes."""
    connection = sqlite3.connect(path)
    digest = hashlib.sha256()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    started, cpu = time.perf_counter(), time.process_time()
    writer.writerow(HEADER)
    digest.update(("\ufeff" + buffer.getvalue()).encode())
    cursor = connection.execute(
        f"SELECT {FLOOR_COLUMNS} FROM activity_event WHERE id < ? ORDER BY id DESC", (below,)
    )
    rows = 0
    while batch := cursor.fetchmany(1000):
        buffer.seek(0)
        buffer.truncate()
        lines = []
        for row in batch:
            (number, at, actor_id, name, role, external, verb, action) = row[:8]
            (object_type, object_id, label, target_type, target_id, target_label, summary) = row[8:]
            moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
            actor = {"id": actor_id, "name": name, "role": role, "external_id": external}
            target = None
            if target_type:
                target = {"type": target_type, "id": target_id, "label": target_label}
            lines.append(
                [
                    number,
                    moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    moment.astimezone(zone).isoformat(timespec="seconds"),
                    dumps(actor),
                    verb,
                    action,
                    dumps({"type": object_type, "id": object_id, "label": label}),
                    dumps(target) if target else "",
                    "'" + summary if summary.startswith(FORMULA) else summary,
                ]
            )
        writer.writerows(lines)
        digest.update(buffer.getvalue().encode())
        rows += len(batch)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rows_per_cpu_s": round(rows / cpu),
        "sha256": digest.hexdigest(),
    }


def measured(download_result):
    """Return the figures of one download (``rows``: its lines less the CSV's header)."""
    rows = download_result["lines"] - (1 if download_result["head"][:3] == BOM else 0)
    return {
        "rows": rows,
        "mb": round(download_result["size"] / 1e6, 1),
        "seconds": round(download_result["seconds"], 2),
        "rows_per_s": round(rows / download_result["seconds"]),
    }


BOM = b"\xef\xbb\xbf"


def run(args, workdir, result):
    """Seed, serve, export over HTTP while sampling the worker's memory, then the floor."""
    path = workdir / "export.db"
    url = f"sqlite:///{path}"
    app = harness.build_app(url, workdir)
    log(f"seeding {args.events:,} events")
    stored = seed(app, args.events)
    with app.app_context():
        zone = ZoneInfo(str(User.get(User.email == stream.ADMIN_EMAIL).zone()))
    harness.close_database()
    result["config"] = {"events": stored, "git": harness.git_state(), "workers": 1}
    with harness.gunicorn(url, workdir / "gunicorn.log", workers=1) as (port, process):
        cookie = harness.sign_in(port, stream.ADMIN_EMAIL, "demo-password")
        # Warm-up: every module imported, pools filled, on the last day's events.
        today = f"&from={datetime.now(UTC).date()}"
        download(port, cookie, "csv", today)
        download(port, cookie, "jsonl", today)
        (worker,) = harness.children_of(process.pid)  # one worker, serving by now
        before = harness.memory_mb(worker)["rss_mb"]
        sampler = RssSampler(worker)
        sampler.start()
        log("exporting as CSV")
        cpu = harness.cpu_seconds(worker)
        csv_download = download(port, cookie, "csv")
        cpu = harness.cpu_seconds(worker) - cpu
        sampler.halt.set()
        sampler.join()
        after = harness.memory_mb(worker)["rss_mb"]
        result["export"] = {"csv": measured(csv_download)}
        # The worker's CPU: what the export costs whatever else the machine runs.
        rows = result["export"]["csv"]["rows"]
        result["export"]["csv"]["rows_per_cpu_s"] = round(rows / cpu)
        result["worker_rss"] = {
            "before_mb": before,
            "peak_mb": sampler.peak,
            "after_mb": after,
            "growth_mb": round(max(sampler.peak, after) - before, 1),
        }
        log("exporting as JSON Lines")
        result["export"]["jsonl"] = measured(download(port, cookie, "jsonl"))
    # The newest row exported: the floor writes the rows up to it (later ones are the
    # records of the exports themselves).
    newest = int(csv_download["head"].split(b"\r\n")[1].split(b",")[0])
    log("plain sqlite3 floor")
    result["floor"] = floor(path, newest + 1, zone)
    exported = result["export"]["csv"]["rows_per_s"]
    result["ratio"] = round(exported / result["floor"]["rows_per_s"], 2)
    per_cpu = result["export"]["csv"]["rows_per_cpu_s"] / result["floor"]["rows_per_cpu_s"]
    result["ratio_cpu"] = round(per_cpu, 2)
    result["same_csv"] = result["floor"].pop("sha256") == csv_download["sha256"]
    result["pass"] = {
        # the two warm-up exports are recorded, so the big one has two more rows
        "all_rows_exported": result["export"]["csv"]["rows"] == stored + 2,
        "same_csv_as_the_floor": result["same_csv"],
        "rss_growth_le_20mb": result["worker_rss"]["growth_mb"] <= 20,
        "ratio_ge_0_5": result["ratio"] >= 0.5,
        "ratio_cpu_ge_0_5": result["ratio_cpu"] >= 0.5,
    }


def main():
    """Read the command line, run the bench, print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", help="keep the database in this folder")
    args = parser.parse_args()
    with harness.work_directory(args.keep, "export-bench-") as workdir:
        raise SystemExit(harness.run_and_print(run, args, workdir))


if __name__ == "__main__":
    main()
