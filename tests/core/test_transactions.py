"""Transactions on both databases: on PostgreSQL ``BEGIN`` travels with the first statement
(``core.db.DeferredBeginPostgresqlDatabase``); a transaction must still be one transaction."""

import peewee
import pytest

from core.db import database
from tests.threads import Worker


@pytest.fixture
def notes(app):
    """A table of its own, created and dropped around the test."""
    with app.app_context():
        database.execute_sql("CREATE TABLE tx_note (text VARCHAR(40) NOT NULL)")
        database.close()
    yield app
    with app.app_context():
        database.execute_sql("DROP TABLE tx_note")
        database.close()


def _texts_seen_elsewhere(app):
    """Return the notes another connection (another thread) sees committed."""
    seen = []

    def read():
        with app.app_context():
            seen.extend(row[0] for row in database.execute_sql("SELECT text FROM tx_note"))
            database.close()

    reader = Worker(read, "reader")
    reader.start()
    reader.finish(10)  # a reader that failed or hung must not pass for one that saw nothing
    return sorted(seen)


def test_a_write_is_invisible_to_others_until_commit(notes):
    with notes.app_context():
        with database.atomic():
            database.execute_sql("INSERT INTO tx_note (text) VALUES ('first')")
            database.execute_sql("INSERT INTO tx_note (text) VALUES ('second')")
            assert _texts_seen_elsewhere(notes) == []
        assert _texts_seen_elsewhere(notes) == ["first", "second"]
        database.close()


def test_a_failed_transaction_leaves_nothing_and_the_connection_works(notes):
    with notes.app_context():
        with pytest.raises(RuntimeError), database.atomic():
            database.execute_sql("INSERT INTO tx_note (text) VALUES ('lost')")
            raise RuntimeError("the change failed")
        with (
            pytest.raises(peewee.DatabaseError),
            database.atomic(),
        ):  # the first statement itself fails
            database.execute_sql("INSERT INTO tx_note (missing) VALUES ('x')")
        with database.atomic():
            pass  # nothing ran: nothing to send
        database.execute_sql("INSERT INTO tx_note (text) VALUES ('kept')")  # autocommit
        with database.atomic():
            database.execute_sql("INSERT INTO tx_note (text) VALUES ('committed')")
        assert _texts_seen_elsewhere(notes) == ["committed", "kept"]
        database.close()
