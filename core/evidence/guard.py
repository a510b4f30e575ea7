"""Append-only record tables: the database itself refuses to change or remove a record, except
through retention's prune.

Triggers on the sealed tables and the event store's audience (``GUARDED``):

- ``DELETE`` is refused unless the deleting transaction holds a **prune permit**: a row of
  ``prune_permit`` it inserted itself and removes before it commits (``permit()``). No other
  transaction ever sees that row (it never commits), so the permit covers the prune's own
  statements and nothing else. On PostgreSQL ``TRUNCATE`` is refused too.
- ``UPDATE`` is refused unless the transaction holds a permit of the holder ``pseudonymise``
  (``permit(PSEUDONYMISE)``): replacing a person's data by a pseudonym, each replaced value
  noted under the seal key (``core.evidence.replace``). A prune permit does not allow it.

What this protects against: the app's own code, a careless maintenance query, a tool pointed
at the wrong table. What it does not: someone who may drop triggers (the tables' owner) can
change anything; the seals (``core.evidence.seal``) are what shows it afterwards. On
PostgreSQL, run the app as a role that does not own the tables and has no UPDATE or DELETE
on them, and the prune as another (``docs/evidence.md``); then the app's own role cannot lift
the guard at all.
"""

from contextlib import contextmanager

import peewee

from core.db import BaseModel
from core.db import database
from core.db import is_sqlite

REFUSAL = "records are append-only: removed by retention only, never changed"
PRUNE = "retention"
PSEUDONYMISE = "pseudonymise"
PG_FUNCTION = "activity_stream_append_only"


class PrunePermit(BaseModel):
    """A permit to delete records, held by one transaction for its own statements."""

    holder = peewee.CharField(max_length=40, default=PRUNE)  # PRUNE or PSEUDONYMISE

    class Meta:
        table_name = "prune_permit"


MODELS = [PrunePermit]


def guarded_tables():
    """Return the names of the tables whose rows are never updated and only pruned."""
    from core.events.models import ActivityAudience
    from core.evidence.seal import sealed_tables

    names = [table.model._meta.table_name for table in sealed_tables()]
    return names + [ActivityAudience._meta.table_name]


def reinstall():
    """Put the triggers of this release in place of an earlier one's."""
    remove()
    install()


def install():
    """Create the permit table if missing and the triggers on every guarded table."""
    database.create_tables([PrunePermit])
    if is_sqlite():
        for table in guarded_tables():
            database.execute_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM prune_permit WHERE holder = '{PSEUDONYMISE}') "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {REFUSAL}'); END"
            )
            database.execute_sql(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
                f"WHEN NOT EXISTS (SELECT 1 FROM prune_permit WHERE holder = '{PRUNE}') "
                f"BEGIN SELECT RAISE(ABORT, '{table}: {REFUSAL}'); END"
            )
        return
    database.execute_sql(
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger AS $$ BEGIN "
        "IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM prune_permit "
        f"WHERE holder = '{PRUNE}') THEN RETURN NULL; END IF; "
        "IF TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM prune_permit "
        f"WHERE holder = '{PSEUDONYMISE}') THEN RETURN NULL; END IF; "
        f"RAISE EXCEPTION '%%: {REFUSAL}', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; "
        "END $$ LANGUAGE plpgsql"
    )
    for table in guarded_tables():
        database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        database.execute_sql(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        )


def remove():
    """Drop the triggers (a migration rebuilding a table, a bench resetting its store);
    ``install()`` puts them back. Whoever may run this may change records: see the module's
    docstring."""
    for table in guarded_tables():
        if is_sqlite():
            database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")


@contextmanager
def permit(holder=PRUNE):
    """Let the statements of the block delete guarded records (``PRUNE``), or update them
    (``PSEUDONYMISE``); call it inside the transaction (the permit is removed before it
    commits, so no other transaction sees it)."""
    if not database.in_transaction():
        raise RuntimeError("a permit lives inside the transaction it permits")
    row = PrunePermit.create(holder=holder)
    yield  # a failure here rolls the transaction back, the permit with it
    PrunePermit.delete().where(PrunePermit.id == row.id).execute()


@contextmanager
def lifted():
    """Run the block with the guard lifted (tests and benches setting up or resetting data),
    putting it back after, whatever happens."""
    remove()
    try:
        yield
    finally:
        install()
