"""The background WAL checkpointer: commits stop copying the log; a thread does it."""

import os
import sqlite3
import time

import pytest

from core import checkpointer
from core.db import database
from core.db import is_sqlite


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _write_pages(path, rows):
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = wal")
    connection.execute(f"PRAGMA wal_autocheckpoint = {checkpointer.SAFETY_NET_PAGES}")
    connection.execute("CREATE TABLE IF NOT EXISTS blob (data BLOB)")
    for _ in range(rows):
        connection.execute("INSERT INTO blob VALUES (?)", (os.urandom(4000),))
    return connection


def test_the_thread_copies_the_log_into_the_database_file(tmp_path):
    path = str(tmp_path / "log.db")
    connection = _write_pages(path, 200)  # ≈ 200 pages: far below the commit threshold
    assert os.path.getsize(path) < 100_000, "a commit checkpointed by itself"
    running = checkpointer.Checkpointer(path, every=0.05).start()
    try:
        assert _wait_for(lambda: os.path.getsize(path) > 800_000)
        # Every frame copied: the next writer starts the log over instead of growing it.
        wal_size = os.path.getsize(path + "-wal")
        connection.execute("INSERT INTO blob VALUES (?)", (os.urandom(4000),))
        assert os.path.getsize(path + "-wal") == wal_size
        assert connection.execute("SELECT COUNT(*) FROM blob").fetchone() == (201,)
    finally:
        running.stop()
        connection.close()


def test_a_missing_file_is_not_created_and_the_thread_waits_for_it(tmp_path):
    path = str(tmp_path / "later.db")
    running = checkpointer.Checkpointer(path, every=0.02).start()
    try:
        time.sleep(0.2)
        assert not os.path.exists(path)
        connection = _write_pages(path, 100)
        assert _wait_for(lambda: os.path.getsize(path) > 400_000)
        connection.close()
    finally:
        running.stop()


def test_the_app_runs_one_checkpointer_on_its_sqlite_file_only(app, make_app):
    running = checkpointer.current()
    if is_sqlite():
        assert running is not None and running.path == database.obj.database
        assert database.execute_sql("PRAGMA wal_autocheckpoint").fetchone() == (
            checkpointer.SAFETY_NET_PAGES,
        )
        assert make_app() is not None and checkpointer.current() is running  # same file
    else:
        assert running is None


@pytest.fixture(autouse=True)
def _no_leftover_thread():
    yield
    checkpointer.stop()
