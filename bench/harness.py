"""What every bench shares: progress on stderr and one JSON object on stdout, a work directory,
the app built on a bench database (SQLite file or a throwaway PostgreSQL database), timing
statistics, the state of the code measured, and serving the app as deployed (gunicorn) to be
hit over HTTP (wrk).

Imported as ``bench.harness``; the benches run as modules from the repository root
(``.venv/bin/python -m bench.<name>``), so ``core`` and ``plugins`` import as they are.
"""

import contextlib
import http.client
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

import psycopg2

from core import migrations
from core.app import create_app
from core.db import database
from core.demo import seed_people

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-0123456789abcdef"

# --- output ---------------------------------------------------------------------------------


def logger(name):
    """Return a ``log(message)`` printing ``[name HH:MM:SS] message`` on stderr (stdout carries
    the JSON only)."""

    def log(message):
        print(f"[{name} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    return log


def print_json(result):
    """Print ``result`` as the bench's one JSON object on stdout (what JSON lacks as text)."""
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def run_and_print(run, args, workdir):
    """Call ``run(args, workdir, result)``, print ``result``; return the exit status.

    0 even if targets are missed (a benchmark, not a test), 1 on an error: the JSON then
    holds every part measured before it, plus ``"error"``.
    """
    result = {}
    status = 0
    try:
        run(args, workdir, result)
    except Exception as error:
        traceback.print_exc()
        result["error"] = f"{type(error).__name__}: {error}"
        status = 1
    finally:
        close_database()
    print_json(result)
    return status


@contextlib.contextmanager
def work_directory(keep, prefix):
    """Yield the work directory: ``keep`` (created, kept afterwards), or a temporary one
    removed afterwards (databases of hundreds of MB must not pile up in /tmp)."""
    if keep:
        workdir = Path(keep).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


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


# --- what was measured ----------------------------------------------------------------------


def redact(url):
    """Return ``url`` without its password."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


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


# --- the app and its database ---------------------------------------------------------------


def build_app(database_url, workdir, **settings):
    """Build the app on ``database_url`` (tasks in memory, run at once unless ``settings``
    say otherwise) and bring its schema up to date."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "HUEY_URL": "memory://",
            "HUEY_IMMEDIATE": True,
            "SECRET_KEY": SECRET_KEY,
            "INSTANCE_PATH": str(workdir / "instance"),
            **settings,
        }
    )
    with app.app_context():
        migrations.upgrade(app)
    return app


def seed_demo_people(app):
    """Seed the demo people, roles and teams (once: a second call adds nothing)."""
    with app.app_context(), database.atomic():
        seed_people()


def close_database():
    """Close the bench's connections (a pooled database keeps them open: close them all)."""
    if database.obj is None:
        return
    close_all = getattr(database.obj, "close_all", None)
    if close_all is not None:
        close_all()
    elif not database.is_closed():
        database.close()


@contextlib.contextmanager
def throwaway_postgres(server_url, prefix="bench"):
    """Create an empty database on ``server_url``'s server, yield its URL, drop it afterwards
    (with the connections still open to it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        close_database()
        admin = psycopg2.connect(server_url)
        admin.autocommit = True
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


# --- processes and ports --------------------------------------------------------------------


def free_port():
    """Return a free TCP port on the loopback interface."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, name, seconds=60):
    """Wait until ``port`` accepts connections; raise if ``process`` (``name``) died or
    time ran out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} within {seconds} s")


def stop(process):
    """Stop ``process`` (SIGTERM, then SIGKILL if it is still there after 15 s)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


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


# --- serving over HTTP ----------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(database_url, log_path, workers=2):
    """Serve the app as deployed (gunicorn with ``core.serving``, ``workers`` threaded
    worker processes) on a free loopback port; yield ``(port, process)``, stop it afterwards.

    The schema is brought up to date with ``flask db upgrade`` first: the server imports the
    code as it is at that moment. Its output goes to ``log_path``.
    """
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
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:core.serving",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "wsgi:app",
    ]
    with open(log_path, "wb") as server_log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, process, "gunicorn")
        yield port, process
    finally:
        stop(process)


class _CsrfField(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def request(port, method, path, headers=None, body=None):
    """Send one HTTP request to 127.0.0.1:``port``; return ``(status, headers, text)``."""
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
    status, headers, body = request(port, "GET", "/login")
    if status != 200:
        raise RuntimeError(f"GET /login answered {status}")
    parser = _CsrfField()
    parser.feed(body)
    cookie = _session_cookie(headers)
    if not parser.token or not cookie:
        raise RuntimeError("GET /login gave no CSRF token or no session cookie")
    form = urlencode({"email": email, "password": password, "csrf_token": parser.token})
    status, headers, body = request(
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


def _work_beside(worker_class, database_url, workdir, settings, ready, halt, queue):
    """Run ``worker_class(app)`` in this process (spawned) until ``halt``; put what its
    ``stop()`` returns on ``queue``."""
    app = build_app(database_url, Path(workdir), **settings)
    worker = worker_class(app)
    worker.start()
    ready.set()
    halt.wait()
    try:
        queue.put(worker.stop())
    except RuntimeError as error:
        queue.put({"error": str(error)})


class ProcessBeside:
    """A background worker of a bench (``worker_class(app)`` with ``start()`` and ``stop()``:
    a sealer, a log stream pump) in a process of its own, as the task consumer would run it
    beside the writers; started and stopped the same way."""

    def __init__(self, worker_class, database_url, workdir, name, stop_seconds=300, **settings):
        context = multiprocessing.get_context("spawn")
        self.ready, self.halt, self.queue = context.Event(), context.Event(), context.Queue()
        self.name, self.stop_seconds = name, stop_seconds
        self.process = context.Process(
            target=_work_beside,
            args=(worker_class, database_url, str(workdir), settings, self.ready, self.halt)
            + (self.queue,),
            name=name,
        )

    def start(self):
        """Start the process; return once it works (its start is not the write path's)."""
        self.process.start()
        if not self.ready.wait(120):
            raise RuntimeError(f"the {self.name} process did not start within 120 s")

    def stop(self):
        """Halt after the current run; return what it did."""
        self.halt.set()
        done = self.queue.get(timeout=self.stop_seconds)
        self.process.join()
        if "error" in done:
            raise RuntimeError(done["error"])
        return done
