"""SQLite's write-ahead log, copied back into the database file by a background thread.

By default SQLite checkpoints inside whichever commit makes the log cross 1,000 pages: that
commit then copies every page written since the last one and fsyncs the database file, on the
request's time. Here each process runs one thread that does it twice a second instead (on
the other core, coalescing pages that many commits touched). A commit still fsyncs the log,
so an acknowledged record is as durable as before.

The log starts over only once every page in it is copied. Under constant writes the thread
may never catch the last commit; then the first commit past ``SAFETY_NET_PAGES`` checkpoints
as SQLite always does (by then almost everything is copied, so it is short) and the log
starts over: its file stays below ≈ 40 MB.

The same thread runs the other upkeep that must not wait on a request (``every_tick``): the
full-text indexes that follow their tables take in the rows written since the last tick.
"""

import logging
import os
import sqlite3
import threading
from urllib.parse import quote

log = logging.getLogger(__name__)

# Pages in the log before a commit checkpoints by itself (≈ 40 MB with 4 KB pages). SQLite's
# default is 1,000.
SAFETY_NET_PAGES = 10_000
EVERY_SECONDS = 0.5

_running = None

# Called with the thread's connection (and its stop event) after each checkpoint.
_TICK_TASKS = []


def every_tick(task):
    """Run ``task(connection, stopping)`` on every process's thread after each checkpoint;
    ``stopping`` is set when the thread is asked to stop. Return ``task``."""
    if task not in _TICK_TASKS:
        _TICK_TASKS.append(task)
    return task


class Checkpointer:
    """A daemon thread running ``PRAGMA wal_checkpoint(PASSIVE)`` on one database file.

    PASSIVE never waits for readers or writers: it copies what it can and tries again on the
    next tick. Once the whole log is copied, the next writer starts it over from the top, so
    the log file stops growing.
    """

    def __init__(self, path, every=EVERY_SECONDS):
        self.path = path
        self.every = every
        self.pid = os.getpid()
        self.ticks = 0  # checkpoint attempts made (tests wait on it, not on the clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)

    def start(self):
        """Start the thread; return self."""
        self._thread.start()
        return self

    def is_running(self):
        """Tell whether the thread runs in this process (a forked child inherits the object
        but not the thread)."""
        return self.pid == os.getpid() and self._thread.is_alive()

    def stop(self):
        """Stop the thread after a last checkpoint."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        connection = None
        try:
            while True:
                stopping = self._stop.wait(self.every)
                try:
                    connection = connection or self._connect()
                    if connection is not None:
                        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:  # locked, the file went away, anything: try next tick
                    log.exception("WAL checkpoint of %s failed", self.path)
                for task in list(_TICK_TASKS) if connection is not None else ():
                    try:
                        task(connection, self._stop)
                    except Exception:  # busy past the timeout, anything: try next tick
                        log.exception("%s on %s failed", task.__name__, self.path)
                self.ticks += 1
                if stopping:
                    return
        finally:
            if connection is not None:
                connection.close()

    def _connect(self):
        # mode=rw: never create the file; until the app has, there is nothing to copy.
        try:
            connection = sqlite3.connect(
                f"file:{quote(self.path)}?mode=rw",
                uri=True,
                isolation_level=None,
            )
            connection.execute("PRAGMA busy_timeout = 1000")
            connection.execute("PRAGMA synchronous = full")
            return connection
        except sqlite3.Error:
            return None


def start(path):
    """Run this process's checkpointer on ``path``, replacing one on another file."""
    global _running
    if _running is not None and _running.path == path and _running.is_running():
        return _running
    stop()
    _running = Checkpointer(path, EVERY_SECONDS).start()
    return _running


def stop():
    """Stop this process's checkpointer, if one runs."""
    global _running
    if _running is not None:
        if _running.is_running():
            _running.stop()
        _running = None


def current():
    """Return this process's running checkpointer, or None."""
    return _running
