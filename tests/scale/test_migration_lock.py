"""``flask db upgrade`` started on two hosts at the same moment, on one fresh database: each
migration is applied once, by one of them, and both exit 0 (PostgreSQL: the advisory lock;
SQLite: the check under each migration's write lock)."""

import re
import sqlite3
import subprocess
import time

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
        )  # fmt: skip
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


def test_an_upgrade_waits_for_the_lock_and_goes_on_once_its_holder_is_gone(
    scale_database, tmp_path
):
    import psycopg2

    holder = psycopg2.connect(scale_database)  # another upgrade, as far as the lock goes
    holder.autocommit = True
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK_KEY)
    env = host_env(scale_database, f"sqlite:///{tmp_path / 'huey.db'}")
    upgrade = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert "another `db upgrade` of this database is running" in upgrade.stdout.readline()
        time.sleep(0.3)
        assert upgrade.poll() is None, "the upgrade did not wait for the lock"
        assert query(scale_database, "SELECT to_regclass('schema_migration')") == [(None,)]
        holder.close()  # its holder ends (or dies): the server releases the lock
        output = upgrade.communicate(timeout=60)[0]
    finally:
        holder.close()
        if upgrade.poll() is None:
            upgrade.kill()
            upgrade.wait()
    assert upgrade.returncode == 0, output
    assert "applied core.0001_people" in output
    assert output.rstrip().endswith(" migration(s) applied)")
    assert query(scale_database, "SELECT COUNT(*) FROM schema_migration")[0][0] > 5
