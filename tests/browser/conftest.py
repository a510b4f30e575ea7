"""Browser tests: Debian's headless Chromium, driven by Playwright, against a real gunicorn.

``live_server`` migrates and seeds a throwaway SQLite database, starts gunicorn (two workers)
on a free port and yields its base URL. ``browser`` is one Chromium for the session; ``page``
is a fresh context per test. A failing test leaves a screenshot and the page's HTML in
``test-artifacts/<test name>.png`` and ``.html``.
"""

import contextlib
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import gunicorn.config as gunicorn_config
import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.conftest import stop_process

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"

START_TIMEOUT = 20  # seconds for gunicorn to answer


def pytest_collection_modifyitems(items):
    """Mark every test in this folder ``browser``."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``rep_setup``, ``rep_call``…) for the fixtures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(command, env):
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def gunicorn(tmp, env, options=()):
    """Run gunicorn as documented (``core.serving``, 2 workers) on a free loopback port until
    the block ends, with ``options`` added to its command line; yield its URL and the path of
    its log. Fails the test when it does not answer within ``START_TIMEOUT``."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = Path(tmp) / "gunicorn.log"
    with open(log_path, "w") as log:
        command = [str(BIN / "gunicorn"), "-c", "python:core.serving", "-w", "2"]
        command += [*options, "-b", f"127.0.0.1:{port}", "wsgi:app"]
        # gunicorn 27 puts a control socket at one path per user: servers running side by
        # side (live_server and fresh_server) would take it from each other.
        if hasattr(gunicorn_config, "ControlSocketDisable"):
            command.append("--no-control-socket")
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(f"{base_url}/login"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"gunicorn did not answer on {base_url} within {START_TIMEOUT} s:\n"
                    + log_path.read_text()
                )
            time.sleep(0.05)
        yield base_url, log_path
    finally:
        # A quick stop (SIGINT): a graceful one (SIGTERM) waits out the browser's idle
        # keep-alive connections, two seconds or more at the end of every fresh_server test.
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_process(server)


@pytest.fixture(scope="session")
def live_server(request):
    """Serve the app with gunicorn on a fresh, seeded SQLite database; yield its base URL."""
    with tempfile.TemporaryDirectory(prefix="activity-stream-browser-") as tmp:
        env = _server_env(tmp)
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        _run([*flask, "db", "upgrade"], env)
        _run([*flask, "demo"], env)
        with gunicorn(tmp, env) as (base_url, log_path):
            try:
                yield base_url
            finally:
                if request.session.testsfailed:
                    print(f"\n--- gunicorn log ({base_url}) ---\n{log_path.read_text()}")


def evidence_keeping_page(request, browser, suffix="", permissions=None, **options):
    """Yield a page in a new browser context (1280x800 unless ``options`` say otherwise:
    Playwright's ``new_context`` options; ``permissions`` maps an origin to the permissions
    granted there); on failure save a screenshot and the HTML into test-artifacts/ under the
    test's name (plus ``suffix``)."""
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(**options)
    for origin, granted in (permissions or {}).items():
        context.grant_permissions(granted, origin=origin)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + suffix
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
        except Exception as error:  # the page may be gone; the test's own failure matters
            print(f"could not save the artifacts of {name}: {error}")
    context.close()


@pytest.fixture
def page(request, browser):
    """Open a page in a new browser context (1280x800); save evidence if the test fails."""
    yield from evidence_keeping_page(request, browser)


@pytest.fixture
def console_errors(page):
    """Collect the page's console errors (CSP violations included) and uncaught exceptions."""
    errors = []

    def on_console(message):
        if message.type == "error":
            where = message.location.get("url") or "?"
            errors.append(f"{message.text} [{where}]")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


# A row of a list itself, not a part inside a closed group of one request's actions (another
# test may have left such a group at the top of the shared server's Activity tab).
TOP_ROW = "ol.rows:not(.group-rows) > li.row"


def tab_to(page, selector, limit=80):
    """Press Tab until the element matching ``selector`` has the focus (as a person would)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{selector} never took the focus after {limit} presses of Tab")


def sign_in(page, base_url, email, password=PASSWORD):
    """Sign in through the /login form and wait for the page after it."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")


# --- Journeys that change state: a server of their own, a second signed-in browser ---------


class Server(str):
    """A served app's base URL (a ``str``) that also carries the environment it was started with.

    ``server.env`` lets a test run ``flask --app wsgi`` or ``python -c`` against the very same
    database the browser sees (for example to record an event while a page is open).
    """

    env: dict

    def __new__(cls, url, env):
        server = super().__new__(cls, url)
        server.env = env
        return server


def _server_env(tmp):
    """Return the environment of a server on a database and queue in ``tmp``."""
    alphabet = string.ascii_letters + string.digits
    return dict(
        os.environ,
        ACTIVITY_STREAM_DATABASE_URL=f"sqlite:///{tmp}/stream.db",
        ACTIVITY_STREAM_HUEY_URL=f"sqlite:///{tmp}/huey.db",
        ACTIVITY_STREAM_SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(32)),
    )


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory):
    """Migrate and seed one SQLite database for the session; ``fresh_server`` copies it."""
    tmp = tmp_path_factory.mktemp("seeded")
    env = _server_env(tmp)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    _run([*flask, "db", "upgrade"], env)
    _run([*flask, "demo"], env)
    assert not (tmp / "stream.db-wal").exists(), "the seeded database was left mid-transaction"
    return tmp / "stream.db"


@pytest.fixture
def fresh_server(request, seeded_database):
    """Serve the app with gunicorn on a private copy of the seeded database; yield a ``Server``.

    For journeys that change state (grants, new events): each test gets its own server, so the
    tests are independent of their order and leave ``live_server`` untouched.
    """
    import shutil

    with tempfile.TemporaryDirectory(prefix="activity-stream-fresh-") as tmp:
        shutil.copy(seeded_database, Path(tmp) / "stream.db")
        env = _server_env(tmp)
        with gunicorn(tmp, env) as (base_url, log_path):
            try:
                yield Server(base_url, env)
            finally:
                report = getattr(request.node, "rep_call", None)
                if report is not None and report.failed:
                    print(f"\n--- gunicorn log ({base_url}) ---\n{log_path.read_text()}")


@pytest.fixture
def other_page(request, browser):
    """Open a second page in its own browser context (another signed-in person, 1280x800)."""
    yield from evidence_keeping_page(request, browser, suffix=".other")


def run_in_app(server, code):
    """Run Python ``code`` inside ``server``'s app context (its own database); return stdout.

    ``code`` sees ``app`` and runs under ``with app.app_context():``.
    """
    script = "from wsgi import app\nwith app.app_context():\n" + "".join(
        f"    {line}\n" for line in code.strip().splitlines()
    )
    result = subprocess.run(
        [str(BIN / "python"), "-c", script],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode:
        pytest.fail(f"python -c failed:\n{script}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def open_tab(page, base_url, tab, email="admin@example.com"):
    """Sign in (the Admin by default), open ``tab`` and mark the window, to detect reloads."""
    sign_in(page, base_url, email)
    page.goto(f"{base_url}/stream/{tab}")
    expect(page.locator("#panel")).to_have_attribute("data-tab", tab)
    page.evaluate("window.__marker = 42")
