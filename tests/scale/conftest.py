"""Scale-out tests: real processes (``flask db upgrade``, gunicorn) on one throwaway PostgreSQL
database and one Redis database, as several hosts of one install would run.

- ``scale_database``: a PostgreSQL database of its own, created for the test and dropped after.
- ``scale_redis``: the URL of a Redis database of its own (``SCALE_REDIS_URL``), flushed before
  and after the test.
- ``host_env(...)``: the environment a host of the install starts with (the settings every
  host shares, see docs/scaling.md).
- ``flask(env, *args)``, ``run_in_host(env, code)``, ``serve(address, env, log)``: run a
  command, Python code in the app, or a gunicorn server bound to one loopback address.
- ``HttpClient``: a browser-less client (cookies, CSRF token, no redirect followed).

Without the PostgreSQL or Redis server these tests skip, or fail under
``ACTIVITY_STREAM_REQUIRE_SERVICES=1``.
"""

import contextlib
import html
import http.client
import os
import re
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

import gunicorn.config
import pytest

from core.testing import PASSWORD
from core.testing import redis_database_url
from core.testing import skip_or_fail
from core.testing import stop_process
from core.testing import throwaway_postgres

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET_KEY = "scale-test-secret-key-0123456789"  # one key for every host: shared sessions
# These tests keep their Redis database apart from the rest of the suite's (``REDIS_URL``).
SCALE_REDIS_URL = redis_database_url(offset=1)
START_TIMEOUT = 20  # seconds for gunicorn to answer
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def pytest_collection_modifyitems(items):
    """Mark every test in this folder ``services`` (they need PostgreSQL and Redis)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.services)


@pytest.fixture
def scale_database():
    """Create an empty PostgreSQL database for this test; yield its URL; drop it after."""
    with throwaway_postgres("activity_stream_scale") as url:
        yield url


@pytest.fixture
def scale_redis():
    """Return the URL of this folder's own Redis database, flushed before and after the test."""
    import redis

    url = SCALE_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        skip_or_fail(f"Redis not reachable at {url}: {error}")
    yield url
    client.flushdb()
    client.close()


def query(database_url, sql, params=None):
    """Run one SQL query on ``database_url`` in a connection of its own; return its rows."""
    import psycopg2

    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def host_env(database_url, huey_url):
    """Return the environment of a host of the install: the shared database, queue and
    secret key (with them set, nothing is read from or written to the instance folder)."""
    env = {name: value for name, value in os.environ.items() if "ACTIVITY_STREAM_" not in name}
    env.update(
        ACTIVITY_STREAM_DATABASE_URL=database_url,
        ACTIVITY_STREAM_HUEY_URL=huey_url,
        ACTIVITY_STREAM_SECRET_KEY=SECRET_KEY,
        PYTHONPATH=str(ROOT),
    )
    return env


def flask(env, *args, timeout=120):
    """Run ``flask --app wsgi ARGS`` with ``env``; fail the test when it fails; return stdout."""
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def run_in_host(env, code):
    """Run Python ``code`` inside the app context of a host started with ``env``."""
    script = "from wsgi import app\nwith app.app_context():\n" + "".join(
        f"    {line}\n" for line in code.strip().splitlines()
    )
    result = subprocess.run(
        [str(BIN / "python"), "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"python -c failed:\n{script}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def seed_people(env):
    """Migrate the shared database and create the demo people (all the hosts need)."""
    flask(env, "db", "upgrade")
    run_in_host(
        env,
        "from core.db import database\n"
        "from core.demo import seed_people\n"
        "with database.atomic():\n"
        "    seed_people()",
    )


def free_port(address):
    """Return a TCP port free on ``address`` right now."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def _answers(base_url):
    try:
        status, _, _ = HttpClient(base_url, timeout=2).request("GET", "/login")
        return status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(address, env, log_path, workers=2):
    """Run gunicorn as documented (``core.serving``: threaded workers) bound to ``address`` on
    a free port until the block ends; yield ``(base_url, process)``. Fails the test when it
    does not answer in time."""
    base_url = f"http://{address}:{free_port(address)}"
    command = [str(BIN / "gunicorn"), "-c", "python:core.serving", "-w", str(workers)]
    command += ["-b", urlsplit(base_url).netloc]
    if hasattr(gunicorn.config, "ControlSocketDisable"):
        # gunicorn 27's control socket has one default path per user: several servers on a
        # machine would take it from each other.
        command.append("--no-control-socket")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [*command, "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(base_url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"gunicorn did not answer on {base_url} within {START_TIMEOUT} s:\n"
                    + Path(log_path).read_text()
                )
            time.sleep(0.05)
        yield base_url, server
    finally:
        if server.poll() is None:
            stop_process(server)


class HttpClient:
    """A browser-less client of one server: keeps its cookies, follows no redirect, and posts
    forms with the session's CSRF token (read from the last form page it fetched)."""

    def __init__(self, base_url, timeout=10):
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port, timeout
        self.cookies = {}
        self.csrf_token = None

    def request(self, method, path, form=None, htmx=False):
        """Send one request on a new connection (as htmx does with ``htmx``); return
        ``(status, headers, body text)``."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"HX-Request": "true"} if htmx else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode({**form, "csrf_token": self.csrf_token or ""})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        found = CSRF_INPUT.search(text)
        if found:
            self.csrf_token = html.unescape(found.group(1))
        return response.status, response.headers, text

    def sign_in(self, email, password=PASSWORD):
        """Sign in through the form; fail the test unless it is accepted."""
        self.request("GET", "/login")
        status, _, text = self.request("POST", "/login", {"email": email, "password": password})
        assert status == 302, f"{email} could not sign in ({status}): {text[:300]}"
        self.request("GET", "/workspace/companies/new")  # the token after sign-in's rotation
