"""The example feeder (examples/feeder) against a real gunicorn on loopback and a SQLite file:
killed with SIGKILL mid-run and run again, the stream holds each of its 10,000 events once."""

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import gunicorn

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FEEDER = ROOT / "examples" / "feeder" / "feeder.py"
COUNT = 10_000

MAKE_TOKEN = """
from core.db import database
from core.demo import seed_people
from core.people import User
from plugins.api.tokens import create_token
from wsgi import app

with app.app_context(), database.atomic():
    seed_people()
    owner = User.get(User.email == "owner@example.com")
    print(create_token(owner, "feeder", "events:write", by=None)[1])
"""


def _run(command, env):
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def server(tmp_path):
    """Serve a migrated SQLite database with gunicorn; yield ``(base URL, token, db path)``."""
    database = tmp_path / "stream.db"
    env = dict(
        os.environ,
        ACTIVITY_STREAM_DATABASE_URL=f"sqlite:///{database}",
        ACTIVITY_STREAM_HUEY_URL=f"sqlite:///{tmp_path}/huey.db",
        ACTIVITY_STREAM_SECRET_KEY=secrets.token_urlsafe(24),
    )
    _run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], env)
    token = _run([str(BIN / "python"), "-c", MAKE_TOKEN], env).strip().splitlines()[-1]
    with gunicorn(tmp_path, env) as (base_url, _log):
        yield base_url, token, database


def feeder(base, token, state, *extra):
    """Return the command running the feeder."""
    options = ["--count", str(COUNT), "--batch", "250", "--state", str(state), *extra]
    return [str(BIN / "python"), str(FEEDER), "--base", base, "--token", token, *options]


def recorded(database):
    """Return the source ids of the feeder's events in the stream, one per event."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT metadata FROM activity_event WHERE actor_external_id LIKE 'ledger:%'"
        ).fetchall()
    return [json.loads(metadata)["source_id"] for (metadata,) in rows]


def test_a_feeder_killed_mid_run_and_run_again_records_each_event_once(server, tmp_path):
    base, token, database = server
    state = tmp_path / "feeder.json"
    started = time.monotonic()
    first = subprocess.Popen(
        feeder(base, token, state), cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        for _ in range(12):  # twelve batches acknowledged; the thirteenth is on its way
            assert first.stdout.readline().startswith("batch "), "the feeder stopped early"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        first.stdout.close()
    assert first.returncode == -signal.SIGKILL
    partly = recorded(database)
    assert 3000 <= len(partly) < COUNT and len(set(partly)) == len(partly)

    resumed = subprocess.run(
        feeder(base, token, state), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1].startswith("done:")
    ids = recorded(database)
    assert len(ids) == COUNT and len(set(ids)) == COUNT

    # Every batch sent again is answered from its key: nothing more is recorded.
    again = subprocess.run(
        feeder(base, token, state, "--from-start"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == f"done: 0 recorded, {COUNT} answered from their keys"
    ids = recorded(database)
    assert len(ids) == COUNT and set(ids) == {f"ledger-{n:06d}" for n in range(COUNT)}
    assert time.monotonic() - started < 60
