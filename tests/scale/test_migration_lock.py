"""``flask db upgrade`` started on two hosts at the same moment, on one fresh database: each
migration is applied once, by one of them, and both exit 0. An upgrade waits, applying
nothing, while another holds the migration lock (PostgreSQL: an advisory lock; SQLite: a lock
on a file beside the database), and goes on once that one is gone."""

import fcntl
import os
import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from core.migrations import MIGRATION_LOCK_KEY
from tests.scale.conftest import BIN
from tests.scale.conftest import ROOT
from tests.scale.conftest import host_env
from tests.scale.conftest import query

# ``flask --app wsgi db upgrade``, started only once the app is imported and the test says go:
# two processes then reach the migrations within a millisecond of each other, however long
# each took to start.
UPGRADE_ON_GO = """
import sys
import wsgi  # the slow part of a start, done before the starting line
print("ready", flush=True)
sys.stdin.readline()
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", "db", "upgrade"]
main()
"""


def upgrade_on_two_hosts_at_once(env):
    """Start two ``db upgrade`` processes, let them go together; return their (code, output)."""
    hosts = [
        subprocess.Popen(
            [str(BIN / "python"), "-c", UPGRADE_ON_GO],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    try:
        for host in hosts:
            assert host.stdout.readline().strip() == "ready", host.communicate()[0]
        for host in hosts:
            host.stdin.write("go\n")
            host.stdin.flush()
        return [(host.wait(timeout=60), host.communicate()[0]) for host in hosts]
    finally:
        for host in hosts:
            if host.poll() is None:
                host.kill()
                host.wait()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """Return ``(url, run_sql)`` of an empty database: a new SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "stream.db"

        def run_sql(sql):
            with sqlite3.connect(path) as connection:
                return connection.execute(sql).fetchall()

        return f"sqlite:///{path}", run_sql
    url = request.getfixturevalue("scale_database")
    return url, lambda sql: query(url, sql)


def test_two_upgrades_at_once_apply_each_migration_once(fresh_database, tmp_path):
    url, run_sql = fresh_database
    env = host_env(url, f"sqlite:///{tmp_path / 'huey.db'}")

    results = upgrade_on_two_hosts_at_once(env)

    assert [code for code, _ in results] == [0, 0], results
    applied_by = [re.findall(r"^applied (\S+)$", output, re.MULTILINE) for _, output in results]
    recorded = [name for (name,) in run_sql("SELECT name FROM schema_migration")]
    assert len(recorded) == len(set(recorded)) > 5
    # Every migration was applied by exactly one of the two: none twice, none skipped.
    assert sorted(applied_by[0] + applied_by[1]) == sorted(recorded), results
    assert set(applied_by[0]).isdisjoint(applied_by[1]), results
    # A data migration applied twice would have seeded its rows twice.
    roles = [name for (name,) in run_sql("SELECT name FROM role")]
    assert roles and len(roles) == len(set(roles))
    for _, output in results:
        assert output.rstrip().endswith("migration(s) applied)"), output


class LockHolder:
    """Another upgrade, as far as the migration lock of ``url`` goes: holds it until ``end()``.

    ``nothing_applied()`` tells whether the database is still untouched.
    """

    def __init__(self, url):
        self.url = url
        self.path = None
        if url.startswith("sqlite:"):
            self.path = Path(url.removeprefix("sqlite:///"))
            descriptor = os.open(f"{self.path}-upgrade", os.O_CREAT | os.O_RDWR)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._release = lambda: os.close(descriptor)
        else:
            import psycopg2

            connection = psycopg2.connect(url)
            connection.autocommit = True
            connection.cursor().execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK_KEY)
            self._release = connection.close  # as if it died: the server lets the lock go

    def end(self):
        """Let go of the lock (once)."""
        release, self._release = self._release, lambda: None
        release()

    def nothing_applied(self):
        """Tell whether no migration table exists yet (SQLite: not even the file)."""
        if self.path is not None:
            return not self.path.exists()
        return query(self.url, "SELECT to_regclass('schema_migration')") == [(None,)]


def test_an_upgrade_waits_for_the_lock_and_goes_on_once_its_holder_is_gone(
    fresh_database, tmp_path
):
    url, run_sql = fresh_database
    holder = LockHolder(url)
    env = host_env(url, f"sqlite:///{tmp_path / 'huey.db'}")
    upgrade = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = threading.Timer(60, upgrade.kill)  # an upgrade that never speaks fails the test
    deadline.start()
    try:
        assert "another `db upgrade` of this database is running" in upgrade.stdout.readline()
        time.sleep(0.3)
        assert upgrade.poll() is None, "the upgrade did not wait for the lock"
        assert holder.nothing_applied()
        holder.end()
        output = upgrade.communicate(timeout=60)[0]
    finally:
        deadline.cancel()
        holder.end()
        if upgrade.poll() is None:
            upgrade.kill()
            upgrade.wait()
    assert upgrade.returncode == 0, output
    assert "applied core.0001_people" in output
    assert output.rstrip().endswith(" migration(s) applied)")
    assert run_sql("SELECT COUNT(*) FROM schema_migration")[0][0] > 5
