"""The database: one peewee proxy, bound at start-up to SQLite or PostgreSQL by URL."""

import contextlib
import contextvars
import fcntl
import os
import threading
from datetime import UTC
from datetime import datetime
from urllib.parse import unquote
from urllib.parse import urlsplit

import peewee
import psycopg2.extensions
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.pool import PooledSqliteDatabase

from core import checkpointer
from core.search.matching import FUNCTION
from core.search.matching import words_match

database = peewee.DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    # FULL: a commit that returned is on disk, even across a power cut. An audit trail
    # must not lose an acknowledged record, so we pay the extra fsync.
    "synchronous": "full",
    "cache_size": -32_000,
    # A savepoint's page copies (the full-text index writes its segment at release) stay in
    # memory instead of a temporary file.
    "temp_store": "memory",
    # The log is copied back by core.checkpointer's thread, not inside a commit.
    "wal_autocheckpoint": checkpointer.SAFETY_NET_PAGES,
}


# Connections are kept open between requests (a PostgreSQL connect costs milliseconds, SQLite
# re-applies its pragmas); each thread takes one from the pool and gives it back at teardown.
POOL_SETTINGS = {"max_connections": 32, "stale_timeout": 300}


# Set only while demo data is made (``clock_at``): the demo performs real actions through the
# services, each at the moment of the story it tells.
_clock = contextvars.ContextVar("clock", default=None)


def utcnow():
    """Return the current time in UTC, naive, as every column stores it."""
    return _clock.get() or datetime.now(UTC).replace(tzinfo=None)


@contextlib.contextmanager
def clock_at(moment):
    """Make ``utcnow`` answer ``moment`` (naive UTC) inside the block: for demo data only,
    so that a history made through the real services reads as if it happened over time."""
    token = _clock.set(moment)
    try:
        yield
    finally:
        _clock.reset(token)


class BaseModel(peewee.Model):
    """Base of every table: bound to the shared proxy, snake_case table names."""

    class Meta:
        database = database
        legacy_table_names = False


class QueuedSqliteDatabase(PooledSqliteDatabase):
    """SQLite whose write transactions line up on two lock files before ``BEGIN IMMEDIATE``.

    SQLite's own busy handler retries a locked database after sleeps that grow to 100 ms, so
    the writer that has waited longest is the least likely to get in: under steady load some
    wait seconds and fail after the busy timeout. Here a writer first takes the *queue* lock,
    then the *writer* lock, then lets the queue go. At most one writer ever waits on the writer
    lock, so each commit hands it straight to that one (the kernel wakes it at once), and a
    writer that just committed cannot barge back in ahead of it: it must queue like the rest.
    Locks are ``flock`` on one descriptor per thread (threads of one process queue too), and
    the kernel drops those of a process that dies, so a killed writer never blocks the others.
    """

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._lock_paths = (
            None if database == ":memory:" else (f"{database}-queue", f"{database}-writer")
        )
        self._locks = threading.local()

    def begin(self, lock_type=None):
        """Wait for this writer's turn, then begin the write transaction."""
        self._take_turn()
        try:
            super().begin(lock_type)
        except BaseException:
            self._end_turn()
            raise

    def commit(self):
        """Commit, then hand the turn to the next writer."""
        try:
            super().commit()
        finally:
            self._end_turn()

    def rollback(self):
        """Roll back, then hand the turn to the next writer."""
        try:
            super().rollback()
        finally:
            self._end_turn()

    def _descriptors(self):
        if getattr(self._locks, "fds", None) is None:
            self._locks.fds = [
                os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._lock_paths
            ]
        return self._locks.fds

    def _take_turn(self):
        if self._lock_paths is None:
            return
        queue, writer = self._descriptors()
        fcntl.flock(queue, fcntl.LOCK_EX)
        try:
            fcntl.flock(writer, fcntl.LOCK_EX)
        finally:
            fcntl.flock(queue, fcntl.LOCK_UN)

    def _end_turn(self):
        if self._lock_paths is not None and getattr(self._locks, "fds", None) is not None:
            fcntl.flock(self._locks.fds[1], fcntl.LOCK_UN)


class _DeferredBeginCursor(psycopg2.extensions.cursor):
    """A cursor that sends a pending ``BEGIN`` in the same round trip as its next statement."""

    def _flush_begin(self):
        if self.connection.begin_pending:
            self.connection.begin_pending = False
            return True
        return False

    def execute(self, query, vars=None):
        """Run ``query``, preceded by the transaction's ``BEGIN`` if it has not been sent."""
        if self._flush_begin():
            if self.name:  # a server-side cursor wraps its query in DECLARE: no prefix there
                super(psycopg2.extensions.cursor, self).execute("BEGIN")
            else:
                query = (b"BEGIN; " + query) if isinstance(query, bytes) else ("BEGIN; " + query)
        return super().execute(query, vars)

    def executemany(self, query, vars_list):
        """Run ``query`` for each parameter set, after a pending ``BEGIN``."""
        if self._flush_begin():
            super().execute("BEGIN")
        return super().executemany(query, vars_list)

    def copy_expert(self, sql, file, size=8192):
        """Run a ``COPY``, after a pending ``BEGIN``."""
        if self._flush_begin():
            super().execute("BEGIN")
        return super().copy_expert(sql, file, size)


class _DeferredBeginConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose cursors send a pending ``BEGIN`` with their next statement."""

    begin_pending = False

    def cursor(self, *args, **kwargs):
        """Return a cursor that knows about the pending ``BEGIN``."""
        kwargs.setdefault("cursor_factory", _DeferredBeginCursor)
        return super().cursor(*args, **kwargs)


class DeferredBeginPostgresqlDatabase(PooledPostgresqlDatabase):
    """PostgreSQL whose ``BEGIN`` travels with the transaction's first statement.

    peewee sends ``BEGIN`` as a statement of its own: one more round trip, for every write
    transaction, before any work. Here ``begin()`` only notes it; the next statement carries
    it (``BEGIN; <statement>`` in one message), and a transaction that ran nothing sends
    neither ``BEGIN`` nor ``COMMIT``.
    """

    def __init__(self, database, **kwargs):
        kwargs.setdefault("connection_factory", _DeferredBeginConnection)
        super().__init__(database, **kwargs)

    def begin(self, isolation_level=None):
        """Note that the next statement opens a transaction (an isolation level: at once)."""
        if isolation_level or self._isolation_level:
            return super().begin(isolation_level)
        self.connection().begin_pending = True
        return None

    def commit(self):
        """Commit, unless the transaction never started on the server."""
        if not self._pending_dropped():
            super().commit()

    def rollback(self):
        """Roll back, unless the transaction never started on the server."""
        if not self._pending_dropped():
            super().rollback()

    def _pending_dropped(self):
        connection = self.connection()
        if connection.begin_pending:
            connection.begin_pending = False
            return True
        return False

    def _can_reuse(self, conn):
        conn.begin_pending = False
        return super()._can_reuse(conn)


# Each PostgreSQL session's settings, sent with the connection (no round trip of their own).
# No JIT: a list query's plan holds branches it never runs (the index path below a search's
# newest window) that the planner costs as reading millions of rows, and compiling for them
# took ~13 ms of every word search at 10M events, whose SQL then ran in 0.7 ms.
POSTGRES_OPTIONS = "-c jit=off"


def open_database(url):
    """Build a peewee database for ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:////abs/path keeps its leading slash; sqlite:///rel/path is relative.
        path = unquote(parts.path)[1:]
        # Every write transaction starts with BEGIN IMMEDIATE, so two writers queue on the
        # lock at BEGIN instead of one failing at its first write with "database is locked".
        # check_same_thread=False: the pool hands a connection to one thread at a time, but
        # not always to the thread that opened it (threaded servers, the huey consumer).
        sqlite = QueuedSqliteDatabase(
            path,
            pragmas=SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",
            check_same_thread=False,
            **POOL_SETTINGS,
        )
        # Free words checked on rows a following full-text index has not taken in yet.
        sqlite.register_function(words_match, FUNCTION, deterministic=True)
        return sqlite
    return DeferredBeginPostgresqlDatabase(
        unquote(parts.path.lstrip("/")),
        host=parts.hostname,
        port=parts.port or 5432,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        options=POSTGRES_OPTIONS,
        **POOL_SETTINGS,
    )


def init_app(app):
    """Bind the proxy to the configured database and manage one connection per request."""
    if database.obj is not None:
        database.obj.close_all()  # a second app in the same process (tests) rebinds the proxy
    database.initialize(open_database(app.config["DATABASE_URL"]))
    if is_sqlite():
        checkpointer.start(database.obj.database)
    else:
        checkpointer.stop()

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_appcontext
    def _close(exc):
        if not database.is_closed():
            database.close()


def for_update(query):
    """Lock the rows ``query`` reads until the transaction ends (PostgreSQL ``FOR UPDATE``).

    SQLite needs nothing: every write transaction already holds the database's write lock
    from its ``BEGIN IMMEDIATE``.
    """
    return query if is_sqlite() else query.for_update()


def is_sqlite():
    """Tell whether the bound database is SQLite."""
    return isinstance(database.obj, peewee.SqliteDatabase)
