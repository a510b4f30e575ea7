"""The PostgreSQL roles of docs/evidence.md, for real: the SQL block of the page is run as it is
written, then the app runs as each role. The web role records, seals and pseudonymises, and
is refused every other change to a record, and cannot lift the guard; the pruner prunes."""

import os
import re
import uuid
from pathlib import Path

import peewee
import psycopg2
import pytest

from core.app import create_app
from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence import guard
from core.evidence.replace import replace_values
from core.evidence.seal import SealBlock
from core.evidence.seal import note_pruned
from core.evidence.seal import seal_all
from core.evidence.verify import verify

DOCS = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"
REFUSED = (peewee.ProgrammingError, peewee.InternalError, peewee.IntegrityError)


def documented_grants():
    """Return the SQL block under "PostgreSQL: roles that cannot lift the guard"."""
    page = DOCS.read_text()
    section = page[page.index("### PostgreSQL: roles") :]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def roles(app, database_url, tmp_path):
    """Run the documented grants on the test database with roles of this test's own; yield
    ``running_as(role)``, which builds an app running as it (the last one built is the one
    bound: one database per process); drop the roles after."""
    if not database_url.startswith("postgresql"):
        pytest.skip("roles and grants are PostgreSQL's")
    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    names = {"stream_app": f"stream_app_{suffix}", "stream_pruner": f"stream_pruner_{suffix}"}
    sql = documented_grants()
    for documented, actual in names.items():
        sql = re.sub(rf"\b{documented}\b", actual, sql)
    database.close()
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql)

    def running_as(role):
        url = re.sub(r"://[^@/]*@", f"://{role}@", database_url)
        return create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "HUEY_URL": "memory://",
                "HUEY_IMMEDIATE": True,
                "SECRET_KEY": "test-secret-key-0123456789",
                "INSTANCE_PATH": str(tmp_path / "instance"),
            }
        )

    try:
        yield lambda documented: running_as(names[documented])
    finally:
        if not database.is_closed():
            database.close()
        with admin.cursor() as cursor:
            for actual in names.values():
                cursor.execute(f"DROP OWNED BY {actual}; DROP ROLE {actual}")
        admin.close()


def refusal(sql):
    """Run ``sql`` in a transaction of its own; return its refusal's text, or None."""
    try:
        with database.atomic():
            database.execute_sql(sql)
    except REFUSED as error:
        return str(error)
    return None


def test_the_web_role_adds_seals_and_pseudonymises_and_changes_nothing_else(roles, people):
    web = roles("stream_app")
    with web.app_context():
        event = record_activity(people["pm@example.com"], "task.updated", Ref("task", 1, "T"))
        assert seal_all()["activity"] == 1
        for sql in (
            "UPDATE activity_event SET verb = 'task.deleted'",
            "DELETE FROM activity_event",
            "DELETE FROM activity_audience",
            "TRUNCATE activity_event",
            "UPDATE seal_block SET mac = 'x'",
            "DELETE FROM seal_replace_note",
        ):
            assert "permission denied" in refusal(sql), sql
        for sql in (
            "ALTER TABLE activity_event DISABLE TRIGGER ALL",
            "DROP TRIGGER activity_event_append_only ON activity_event",
        ):
            assert "must be owner" in refusal(sql), sql
        # A personal column: refused without the permit, replaced (and noted) with it.
        assert "append-only" in refusal("UPDATE activity_event SET actor_name = 'x'")
        with database.atomic():
            replace_values(ActivityEvent, {event.id: {"actor_name": "Person 7f3a"}})
        refused = pytest.raises(REFUSED, match="permission denied")
        with refused, database.atomic(), guard.permit():  # a prune permit gives it nothing
            ActivityEvent.delete().where(ActivityEvent.id == event.id).execute()
        assert verify().ok
        database.close()


def test_the_pruner_removes_records_under_its_permit_only(roles, people):
    with roles("stream_app").app_context():
        event = record_activity(people["pm@example.com"], "task.updated", Ref("task", 1, "T"))
        assert seal_all()["activity"] == 1
        database.close()
    with roles("stream_pruner").app_context():
        assert "append-only" in refusal(f"DELETE FROM activity_event WHERE id = {event.id}")
        with database.atomic():
            note_pruned(ActivityEvent, [event.id])  # and clears the block it empties
            with guard.permit():
                database.execute_sql(f"DELETE FROM activity_audience WHERE event_id = {event.id}")
                database.execute_sql(f"DELETE FROM activity_event WHERE id = {event.id}")
        assert not ActivityEvent.select().where(ActivityEvent.id == event.id).exists()
        assert bytes(SealBlock.get().pairs) == b""
        report = verify()
        assert report.ok and report.pruned == 1
        database.close()
