"""Every record is in its tab's full-text index, and only then: after a bulk write (several
chunks), after one event, and not at all when a chunk fails and its savepoint rolls back, on
SQLite (FTS5 written by the batch writer or the trigger) and PostgreSQL (a stored vector).
Activity, Email and Logins share ``TextIndex``. The Activity index on SQLite follows its table
(``TextIndex.follows``): it holds every committed event once caught up, and until then a search
checks the events above its position one by one (``tests/plugins/test_index_follows.py``).
"""

import pytest

from core.auth.clients import Client
from core.auth.signins import SignInAttempt
from core.auth.signins import build_attempt
from core.auth.signins import record_sign_in_attempts
from core.db import database
from core.db import is_sqlite
from core.events import ActivityEvent
from core.events import Ref
from core.events import build_entry
from core.events import record_activity
from core.events import record_entries
from core.events.recorder import RecordError
from core.evidence.guard import PSEUDONYMISE
from core.evidence.guard import permit
from core.search.index import catch_up_now
from plugins.activity.index import INDEX as ACTIVITY
from plugins.email import outbox
from plugins.email.models import EmailMessage
from plugins.email.queries import INDEX as EMAIL
from plugins.logins.queries import INDEX as LOGINS
from tests.plugins.test_search import SearchIndexes


@pytest.fixture
def indexed(make_app):
    """Return the app with every tab's index in place."""
    return make_app(plugins=(SearchIndexes(),))


def found(index, word):
    """Return the ids the index finds by ``word``, read from the index itself (caught up
    first, when it follows its table)."""
    if is_sqlite():
        catch_up_now()
        sql = f"SELECT rowid FROM {index.name} WHERE {index.name} MATCH ?"
        return {row_id for (row_id,) in database.execute_sql(sql, (word,)).fetchall()}
    sql = f"SELECT id FROM {index.table} WHERE {index.vector} @@ to_tsquery('simple', %s)"
    return {row_id for (row_id,) in database.execute_sql(sql, (word,)).fetchall()}


def assert_exact(*indexes):
    """Fail unless each index holds exactly its table's rows, once each, and its insert trigger
    is there for the other writers (SQLite; PostgreSQL computes the vector with the row).

    FTS5's check against the content table cannot read Activity's derived columns, so there
    every row's day (a word of every indexed row) is looked up instead."""
    if not is_sqlite():
        return
    catch_up_now()
    for index in indexes:
        name = index.name
        if index.derived:
            database.execute_sql(f"INSERT INTO {name} ({name}) VALUES ('integrity-check')")
            sql = f"SELECT rowid FROM {name} WHERE {name} MATCH 'day : 2*' ORDER BY rowid"
            indexed = [row_id for (row_id,) in database.execute_sql(sql).fetchall()]
            sql = f"SELECT id FROM {index.table} ORDER BY id"
            assert indexed == [row_id for (row_id,) in database.execute_sql(sql).fetchall()]
        else:
            database.execute_sql(f"INSERT INTO {name} ({name}, rank) VALUES ('integrity-check', 1)")
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?"
        assert database.execute_sql(sql, (f"{name}_insert",)).fetchone(), name


def entries(count, word, people):
    """Return ``count`` events whose object label carries ``word`` and their number."""
    actor = people["admin@example.com"]
    return [
        build_entry(actor, "task.updated", Ref("task", n, f"{word} n{n}"), {"status": ["a", "b"]})
        for n in range(count)
    ]


def test_a_bulk_write_and_one_event_are_each_in_the_index(indexed, people):
    with indexed.test_request_context():
        ids = record_entries(entries(2500, "bulkword", people), chunk=1000)  # three chunks
        assert found(ACTIVITY, "bulkword") == set(ids)
        assert found(ACTIVITY, "n2499") == {ids[-1]}
        with database.atomic():
            one = record_activity(
                people["pm@example.com"], "document.created", Ref("document", 1, "singleword")
            )
        assert found(ACTIVITY, "singleword") == {one.id}
        assert_exact(ACTIVITY)


def test_a_failed_chunk_leaves_neither_its_records_nor_their_index_rows(indexed, people):
    with indexed.test_request_context():
        kept = record_entries(entries(3, "keptword", people))
        batch = entries(2500, "lostword", people)
        batch[1700]["row"]["verb"] = None  # NOT NULL: the second chunk fails midway
        with database.atomic():
            with pytest.raises(RecordError):
                record_entries(batch, chunk=1000)
            # The caller's transaction goes on and commits its other writes.
            after = record_entries(entries(2, "afterword", people))
        assert found(ACTIVITY, "lostword") == set()
        assert not ActivityEvent.select().where(ActivityEvent.object_label.contains("lostword"))
        assert found(ACTIVITY, "keptword") == set(kept)
        assert found(ACTIVITY, "afterword") == set(after)
        assert_exact(ACTIVITY)


def test_a_chunk_rolled_back_with_its_transaction_leaves_no_index_row(indexed, people):
    with indexed.test_request_context():
        with pytest.raises(ZeroDivisionError), database.atomic():
            record_entries(entries(1500, "undoneword", people), chunk=1000)
            1 / 0  # noqa: B018 - the caller fails after recording
        assert found(ACTIVITY, "undoneword") == set()
        assert ActivityEvent.select().count() == 0
        # The next writes reuse the ids: indexed once, with their own words.
        ids = record_entries(entries(1500, "redoneword", people))
        assert found(ACTIVITY, "redoneword") == set(ids)
        assert found(ACTIVITY, "undoneword") == set()
        assert_exact(ACTIVITY)


def test_other_writers_of_the_table_are_indexed_by_the_trigger(indexed, people):
    with indexed.test_request_context():
        record_entries(entries(1200, "batchword", people))
        # A writer that does not go through the batch path (an import tool, peewee).
        row = dict(entries(1, "peeweeword", people)[0]["row"])
        new_id = ActivityEvent.insert(**row).execute()
        assert found(ACTIVITY, "peeweeword") == {new_id}
        with database.atomic(), permit(PSEUDONYMISE):  # as a person's data is replaced
            renamed = ActivityEvent.update(object_label="renamedword")
            renamed.where(ActivityEvent.id == new_id).execute()
        assert found(ACTIVITY, "peeweeword") == set()
        assert found(ACTIVITY, "renamedword") == {new_id}
        with database.atomic(), permit():  # as retention prunes
            ActivityEvent.delete().where(ActivityEvent.id == new_id).execute()
        assert found(ACTIVITY, "renamedword") == set()
        assert_exact(ACTIVITY)


def test_sign_ins_and_the_outbox_in_bulk_are_in_their_indexes(indexed, people):
    client = Client(ip="203.0.113.5", country="DE", browser="Chrome 120", os="Linux")
    with indexed.test_request_context():
        attempts = record_sign_in_attempts(
            [
                build_attempt(f"loginword{n}@example.com", None, "unknown_user", client)
                for n in range(40)
            ]
        )
        assert found(LOGINS, "loginword7") == {attempts[7]}
        assert len(found(LOGINS, "example")) == SignInAttempt.select().count()
        recipient = people["pm@example.com"]
        messages = outbox.queue(
            [
                {
                    "kind": "private_message",
                    "private": False,
                    "sender_id": None,
                    "sender_name": "",
                    "recipient": recipient,
                    "subject": f"mailword{n}",
                    "text_body": "hello",
                    "html_body": "<p>hello</p>",
                }
                for n in range(30)
            ]
        )
        assert found(EMAIL, "mailword29") == {messages[29]}
        assert len(found(EMAIL, "hello")) == EmailMessage.select().count()
        assert_exact(ACTIVITY, LOGINS, EMAIL)
