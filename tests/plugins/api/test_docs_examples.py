"""The documentation's examples work: every ```bash block starting with ``curl`` in
docs/api.md (and docs/ingest.md) runs, as written, against a real gunicorn on loopback serving
a seeded SQLite database, with ``$BASE`` and ``$TOKEN`` set; each request must answer 2xx.

A block that sends a body (a POST) gets an ``events:write`` token, every other a ``read`` one,
both of the Super Admin (who sees every tab). Blocks run in a folder of their own, where a
download they save (``curl -OJ``) lands.
"""

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.testing import stop_process

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DOCS = [ROOT / "docs" / "api.md", ROOT / "docs" / "ingest.md"]
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
WRITES = re.compile(r"(-X\s*POST|--data\b|--data-binary|--json|\s-d\s)")
STATUS = "HTTP_STATUS:"
START_TIMEOUT = 20


def curl_blocks():
    """Return ``[(file name, block)]`` of every ```bash block starting with ``curl``."""
    found = []
    for path in DOCS:
        if path.exists():
            blocks = BLOCK.findall(path.read_text())
            found += [(path.name, b) for b in blocks if b.lstrip().startswith("curl")]
    return found


def writes(block):
    """Tell whether ``block`` sends a body (its curl needs an events:write token)."""
    return bool(WRITES.search(block.replace("--data-urlencode", "")))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _flask(env, *args):
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextlib.contextmanager
def served(tmp_path):
    """Seed a SQLite database with the demo, serve it with gunicorn as documented
    (``core.serving``, one worker) on a free loopback port; yield ``(base URL, env)``."""
    env = dict(
        os.environ,
        ACTIVITY_STREAM_DATABASE_URL=f"sqlite:///{tmp_path}/stream.db",
        ACTIVITY_STREAM_HUEY_URL=f"sqlite:///{tmp_path}/huey.db",
        ACTIVITY_STREAM_SECRET_KEY=secrets.token_urlsafe(24),
    )
    _flask(env, "db", "upgrade")
    _flask(env, "demo")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "gunicorn"), "-c", "python:core.serving", "-w", "1"]
    command += ["-b", f"127.0.0.1:{port}", "--no-control-socket", "wsgi:app"]
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{base}/api/v1/openapi.json"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer on {base}:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield base, env
    finally:
        stop_process(server)


def new_token(env, scope):
    """Make a token of the Super Admin's with ``scope`` as the docs say, by the command line."""
    printed = _flask(
        env, "tokens", "create", "owner@example.com", "--name", scope, "--scope", scope
    )
    return printed.strip().splitlines()[-1]


def test_every_curl_example_of_the_docs_answers_2xx(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    blocks = curl_blocks()
    assert len(blocks) >= 8, "docs/api.md lost its examples"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with served(tmp_path) as (base, env):
        tokens = {scope: new_token(env, scope) for scope in ("read", "events:write")}
        for name, block in blocks:
            token = tokens["events:write" if writes(block) else "read"]
            # Every curl of the block prints its status last, on a line of its own.
            script = f'curl() {{ command curl -w "\\n{STATUS}%{{http_code}}\\n" "$@"; }}\n{block}'
            result = subprocess.run(
                ["bash", "-e", "-c", script],
                env={**env, "BASE": base, "TOKEN": token},
                cwd=downloads,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            statuses = re.findall(rf"^{STATUS}(\d+)$", result.stdout, re.M)
            assert result.returncode == 0 and statuses, f"{name}:\n{block}\n{result.stderr}"
            assert all(s.startswith("2") for s in statuses), f"{name}:\n{block}\n{result.stdout}"
    # The download example saved its file under the name the answer gave.
    assert [path.suffix for path in downloads.glob("activity-*")] == [".csv"]
