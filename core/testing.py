"""pytest fixtures for Activity Stream and its plugins: an app on a real database, signed-in
clients, demo people, and "record, then read as a viewer".

Installed with the package as a pytest plugin (entry point ``pytest11``), so a plugin's own
tests get the same fixtures as the built-in tabs' tests, with nothing to copy:

- ``app``: a migrated app with every installed plugin; ``make_app(plugins=(), **settings)``
  builds another on the same database (extra plugin objects, settings such as
  ``PLUGINS_DISABLED``).
- ``database_url``: each test that uses the database runs twice, on a fresh SQLite file and
  on a fresh PostgreSQL database of the server at ``ACTIVITY_STREAM_TEST_POSTGRES_URL``
  (default ``postgresql://postgres@127.0.0.1:5432/postgres``), dropped after the test; without
  a server that run is skipped with the reason, unless ``ACTIVITY_STREAM_REQUIRE_SERVICES=1``
  makes it a failure. The PostgreSQL one is a copy of a database migrated once per run with
  the built-in plugins (``postgres_template``), which ``make_app`` empties first when it is
  given other plugins or leaves some out; ``empty_postgres(url)`` empties it for a test of
  migrations themselves.
- ``people``: the demo people and teams, ``{email: User}``; ``client`` and ``login(email)``.
- ``rows_seen_by(app, email, tab, **filters)``: the row ids a viewer's page of a tab shows.
"""

import contextlib
import os
import re
import subprocess
import uuid

import pytest

from core import migrations
from core.app import create_app
from core.db import database

POSTGRES_ADMIN_URL = os.environ.get(
    "ACTIVITY_STREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def redis_database_url(offset=0):
    """Return the test Redis URL whose database is this process's own: the base database (15
    unless ``ACTIVITY_STREAM_TEST_REDIS_URL`` names another) counted down by the pytest-xdist
    worker number, then by ``offset`` whole sets of workers (a second database per worker)."""
    base = os.environ.get("ACTIVITY_STREAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    match = re.search(r"/(\d+)$", base)
    number = int(match.group(1)) if match else 0
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    number -= worker + offset * workers
    if number < 0:
        raise RuntimeError(f"too many test workers for the Redis databases below {base}")
    return re.sub(r"/\d*$", "", base) + f"/{number}"


# Each test process has its own Redis database, so parallel workers never flush each other's.
REDIS_URL = redis_database_url()
PASSWORD = "demo-password"


def stop_process(process, seconds=10):
    """Stop a child process: ask it to end, then kill it if it has not within ``seconds``."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def require_services():
    """Tell whether a missing PostgreSQL or Redis server must fail the run instead of skipping."""
    return os.environ.get("ACTIVITY_STREAM_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason):
    """Skip with ``reason``, or fail with it when the services are required."""
    if require_services():
        pytest.fail(f"{reason} (ACTIVITY_STREAM_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@contextlib.contextmanager
def throwaway_postgres(prefix, template=None):
    """Create a PostgreSQL database named after ``prefix``, empty or a copy of the database
    ``template`` (a URL); yield its URL; drop it afterwards. Without a server, skip (or fail
    under ``ACTIVITY_STREAM_REQUIRE_SERVICES``)."""
    import psycopg2

    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as error:
        skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}".strip())
    admin.autocommit = True
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        copy = f' TEMPLATE "{_name_of(template)}"' if template else ""
        cursor.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", POSTGRES_ADMIN_URL)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def redis_url():
    """Return the URL of a reachable Redis server (database 15), flushed for this run."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as error:
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {error}")
    yield REDIS_URL
    client.flushdb()


def app_settings(database_url, instance_path, **settings):
    """Return the settings of a test app on ``database_url``, with ``settings`` over them."""
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "HUEY_URL": "memory://",
        "HUEY_IMMEDIATE": True,
        "SECRET_KEY": "test-secret-key-0123456789",
        "INSTANCE_PATH": str(instance_path),
    }
    config.update(settings)
    return config


@pytest.fixture(scope="session")
def postgres_template(tmp_path_factory):
    """Create a PostgreSQL database migrated with the built-in plugins, once per run; yield
    its URL. Each test's database starts as a copy of it (``CREATE DATABASE … TEMPLATE``):
    0.2 s, where migrating each from empty took 0.4 s of DDL, a fifth of the suite's time."""
    with throwaway_postgres("activity_stream_template") as url:
        app = create_app(app_settings(url, tmp_path_factory.mktemp("template")))
        with app.app_context():
            migrations.upgrade(app)
        _close_every_connection()  # a template must have no session open on it
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Return the URL of the test's database: a new SQLite file (empty), or a new PostgreSQL
    database, a copy of ``postgres_template`` (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stream.db'}"
        return
    template = request.getfixturevalue("postgres_template")
    with throwaway_postgres("activity_stream_test", template) as url:
        try:
            yield url
        finally:
            _close_every_connection()


def empty_postgres(url):
    """Make the PostgreSQL database at ``url`` a new, empty one (no table, nothing migrated)."""
    _close_every_connection()
    name = _name_of(url)
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def _name_of(url):
    return url.rsplit("/", 1)[1]


def _postgres_admin(*statements):
    import psycopg2

    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        admin.close()


def _close_every_connection():
    """Close this process's pooled connections to the app's database (every thread's)."""
    if database.obj is not None:
        database.close_all()  # every database of the app is pooled (``core.db``)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Return a factory building a migrated app on the test database; extra plugins allowed.

    On PostgreSQL the database starts migrated with the built-in plugins; an app of other
    plugins (extra ones, or ``PLUGINS_DISABLED``) built first empties it, so its migrations
    run from the start as on a database of its own."""
    built = []

    def make(plugins=(), **settings):
        other_plugins = plugins or settings.get("PLUGINS_DISABLED")
        if not built and other_plugins and database_url.startswith("postgresql"):
            empty_postgres(database_url)
        built.append(True)
        app = create_app(app_settings(database_url, tmp_path / "instance", **settings), plugins)
        with app.app_context():
            migrations.upgrade(app)
        return app

    yield make
    if not database.is_closed():
        database.close()


@pytest.fixture
def app(make_app):
    """Return a migrated app with the built-in plugins."""
    return make_app()


@pytest.fixture
def people(app):
    """Seed the demo people and teams; return ``{email: User}``."""
    from werkzeug.security import generate_password_hash

    from core.demo import demo_users
    from core.demo import seed_people
    from core.people import User

    with app.app_context():
        with database.atomic():
            seed_people()
            # A cheap hash of the same password: every sign-in of a test checks it, and the
            # app's own (scrypt, ~0.1 s of CPU each) made signing in most of many tests' time.
            quick = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
            User.update(password_hash=quick).execute()
        return demo_users()


@pytest.fixture
def guard_lifted(app):
    """Lift the record tables' append-only guard (``core.evidence.guard``) for the test: to
    tamper as someone who may drop the tables' triggers, whom only the seals can show."""
    from core.evidence import guard

    with app.app_context():
        guard.remove()


@pytest.fixture
def client(app):
    """Return a test client of ``app``."""
    return app.test_client()


def csrf_token_of(client):
    """Return the CSRF token held in ``client``'s session (fetching a page to create one)."""
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    if token is None:
        client.get("/login")
        with client.session_transaction() as session:
            token = session["csrf_token"]
    return token


def sign_in(client, email, password=PASSWORD):
    """Sign ``client`` in as ``email``; return the response of the sign-in POST."""
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token_of(client)},
    )


@pytest.fixture
def login(client, people):
    """Return a function signing the test client in as one of the demo people."""

    def login_as(email):
        response = sign_in(client, email)
        assert response.status_code == 302, response.text
        return people[email]

    return login_as


ROW_ID = re.compile(r'data-row-id="(\d+)"')


def rows_seen_by(app, email, tab, **filters):
    """Return the row ids that ``email``'s first page of ``tab`` shows (signed in afresh).

    Record something, then ask what each viewer sees: the way to test a tab's scope.
    """
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302, f"{email} could not sign in ({response.status_code})"
    page = client.get(f"/stream/{tab}", query_string=filters)
    assert page.status_code == 200, f"{email} may not see /stream/{tab} ({page.status_code})"
    return [int(value) for value in ROW_ID.findall(page.text)]
