"""The record tables are append-only in the database itself (core.evidence.guard): UPDATE and
DELETE refused on SQLite and PostgreSQL, TRUNCATE on PostgreSQL, except a prune's deletions
under its permit, which no other transaction can use."""

import peewee
import pytest

from core.auth.signins import SignInAttempt
from core.db import database
from core.db import is_sqlite
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence import guard
from core.evidence.guard import PrunePermit

REFUSED = (peewee.IntegrityError, peewee.InternalError, peewee.ProgrammingError)


@pytest.fixture
def event(app, people):
    """Record one event with an audience; return its id."""
    with app.app_context():
        return record_activity(people["admin@example.com"], "task.updated", Ref("task", 1, "T")).id


def refused(app, sql):
    """Run ``sql`` in its own transaction; return the refusal's text (None if it ran)."""
    with app.app_context():
        try:
            with database.atomic():
                database.execute_sql(sql)
        except REFUSED as error:
            return str(error)
    return None


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE activity_event SET summary = 'changed'",
        "DELETE FROM activity_event",
        "UPDATE activity_audience SET party = party + 2",
        "DELETE FROM activity_audience",
        "UPDATE sign_in_attempt SET outcome = 'success'",
        "DELETE FROM sign_in_attempt",
    ],
)
def test_changing_or_removing_a_record_is_refused(app, people, event, sql):
    with app.app_context():
        SignInAttempt.create(name_typed="x@example.com", outcome="failure")
    assert "append-only" in refused(app, sql)
    with app.app_context():
        assert ActivityEvent.get_by_id(event).summary == ""
        assert ActivityAudience.select().where(ActivityAudience.event == event).count() > 0
        assert SignInAttempt.select().where(SignInAttempt.outcome == "failure").count() == 1


def test_truncate_is_refused_on_postgresql(app, people, event):
    with app.app_context():
        if is_sqlite():
            pytest.skip("SQLite has no TRUNCATE")
    assert "append-only" in refused(app, "TRUNCATE activity_event")


def test_a_prune_permit_lets_its_own_transaction_delete_and_is_gone_after(app, people, event):
    with app.app_context():
        with database.atomic(), guard.permit():
            ActivityAudience.delete().where(ActivityAudience.event == event).execute()
            ActivityEvent.delete().where(ActivityEvent.id == event).execute()
        assert ActivityEvent.select().count() == 0
        assert PrunePermit.select().count() == 0
        record_activity(None, "task.updated", Ref("task", 2, "U"))
        with pytest.raises(REFUSED, match="append-only"), database.atomic(), guard.permit():
            ActivityEvent.update(summary="x").execute()  # a permit never allows UPDATE


def test_a_permit_needs_a_transaction(app):
    with app.app_context(), pytest.raises(RuntimeError, match="transaction"), guard.permit():
        pass


def test_a_permit_is_never_seen_by_another_connection(app, people, event):
    """The permit row is uncommitted while it exists: another connection (another process)
    deleting at that moment is refused."""
    import sqlite3

    import psycopg2

    with app.app_context():
        url = app.config["DATABASE_URL"]
        with database.atomic(), guard.permit():
            if is_sqlite():
                other = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0.2)
                # SQLite: the pruning transaction holds the write lock; the other waits.
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("DELETE FROM activity_event")
            else:
                other = psycopg2.connect(url)
                with other.cursor() as cursor, pytest.raises(psycopg2.Error, match="append-only"):
                    cursor.execute("DELETE FROM activity_event")
            other.close()
        assert ActivityEvent.select().count() == 1


def test_the_guard_lifted_and_put_back(app, people, event):
    with app.app_context():
        with guard.lifted():
            ActivityEvent.update(summary="set up").where(ActivityEvent.id == event).execute()
        assert ActivityEvent.get_by_id(event).summary == "set up"
    assert "append-only" in refused(app, "UPDATE activity_event SET summary = 'again'")
