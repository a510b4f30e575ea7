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

        # Once a checkpoint has copied every frame, the next writer starts the log over
        # instead of growing it (without the thread, each insert here would grow it).
        def an_insert_reuses_the_log():
            before = os.path.getsize(path + "-wal")
            connection.execute("INSERT INTO blob VALUES (?)", (os.urandom(4000),))
            return os.path.getsize(path + "-wal") == before

        assert _wait_for(an_insert_reuses_the_log)
        assert connection.execute("SELECT COUNT(*) FROM blob").fetchone()[0] > 200
    finally:
        running.stop()
        connection.close()


def test_a_missing_file_is_not_created_and_the_thread_waits_for_it(tmp_path):
    path = str(tmp_path / "later.db")
    running = checkpointer.Checkpointer(path, every=0.02).start()
    try:
        # Five attempts to open the file, each of which would have created it.
        assert _wait_for(lambda: running.ticks >= 5)
        assert not os.path.exists(path)
        connection = _write_pages(path, 100)
        assert _wait_for(lambda: os.path.getsize(path) > 400_000)
        connection.close()
    finally:
        running.stop()


def test_the_app_runs_one_checkpointer_on_its_sqlite_file_only(make_app, tmp_path):
    other = str(tmp_path / "other.db")
    sqlite3.connect(other).close()
    checkpointer.start(other)  # as if an earlier app of this process used another file
    make_app()
    running = checkpointer.current()
    if is_sqlite():
        assert running.path == database.obj.database and running.is_running()
        assert database.execute_sql("PRAGMA wal_autocheckpoint").fetchone() == (
            checkpointer.SAFETY_NET_PAGES,
        )
        make_app()
        assert checkpointer.current() is running  # same file, same thread
    else:
        assert running is None


def test_a_forked_child_starts_its_own_thread(tmp_path):
    path = str(tmp_path / "forked.db")
    sqlite3.connect(path).close()
    parent = checkpointer.start(path)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child inherits the object, not the thread
        try:
            inherited = checkpointer.current() is parent and not parent.is_running()
            replaced = checkpointer.start(path)
            ok = inherited and replaced is not parent and replaced.is_running()
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 1) == b"1"
    assert parent.is_running()


def test_an_unexpected_error_does_not_end_the_thread(tmp_path, monkeypatch):
    path = str(tmp_path / "odd.db")
    sqlite3.connect(path).close()
    calls = []

    def broken(self):
        calls.append(1)
        raise RuntimeError("unexpected")

    monkeypatch.setattr(checkpointer.Checkpointer, "_connect", broken)
    running = checkpointer.Checkpointer(path, every=0.02).start()
    try:
        assert _wait_for(lambda: len(calls) >= 3)
        assert running.is_running()
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _no_leftover_thread():
    yield
    checkpointer.stop()
