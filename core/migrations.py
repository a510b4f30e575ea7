"""Versioned schema migrations: each applied once, in order, recorded in ``schema_migration``.

A migration is a named function. Core's come first, then each plugin's in registration order.
A later release adds a new migration (``playhouse.migrate`` for column changes) and never edits
one that has shipped, so ``db upgrade`` takes any older database forward without losing a row.

Several hosts may run ``db upgrade`` on one database at the same moment (a deploy starting
every host): each migration is still applied once, and every one of them exits 0. The whole
upgrade holds the database's migration lock (``migration_lock``: a session advisory lock on
PostgreSQL, an exclusive lock on a file beside a SQLite database), so a second upgrade waits,
then finds nothing pending. Each migration's transaction also checks again that it is still
pending before applying it (on SQLite under the write lock of its ``BEGIN IMMEDIATE``).
"""

import fcntl
import os
from collections.abc import Callable
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass

import peewee

from core.db import BaseModel
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.plugins import call_at_startup


class MigrationError(RuntimeError):
    """A migration failed (and rolled back); the message names it, and so its plugin."""


@dataclass(frozen=True)
class Migration:
    """One schema step: a unique ``name`` (``<plugin>.<NNNN>_<what>``) and the function doing it."""

    name: str
    apply: Callable[[], None]


class SchemaMigration(BaseModel):
    """One applied migration."""

    name = peewee.CharField(max_length=200, primary_key=True)
    applied_at = peewee.DateTimeField(default=utcnow)


def create_tables(*models):
    """Return a migration function creating ``models`` with their indexes."""

    def apply():
        database.create_tables(models)

    return apply


def core_migrations():
    """Return core's own migrations: people, then the event store.

    The event store's steps keep the names they shipped with when it lived in the Activity
    plugin, so a database upgraded by those releases is not migrated twice.
    """
    from core.auth.sessions import MODELS as SESSION_MODELS
    from core.auth.signins import MODELS as SIGN_IN_MODELS
    from core.auth.signins import remember_pairs_from_the_log
    from core.auth.throttle import MODELS as THROTTLE_MODELS
    from core.auth.unlocks import MODELS as UNLOCK_MODELS
    from core.events import models as events
    from core.evidence import guard
    from core.evidence.replace import MODELS as REPLACE_MODELS
    from core.evidence.seal import MODELS as SEAL_MODELS
    from core.evidence.seal import add_pairs_sha256
    from core.listing.export_jobs import MODELS as EXPORT_MODELS
    from core.listing.saved import SavedSearch
    from core.people import MODELS
    from core.people import add_density_column
    from core.people import seed_roles
    from core.retention import MODELS as RETENTION_MODELS

    return [
        Migration("core.0001_people", create_tables(*MODELS)),
        Migration("core.0002_seed_roles", seed_roles),
        Migration("activity.0001_events", events.create_activity_tables),
        Migration("activity.0002_actor_verb_index", events.add_actor_verb_index),
        Migration("activity.0003_audience_without_foreign_key", events.drop_audience_foreign_key),
        Migration(
            "core.0003_sign_in_attempts",
            create_tables(*SIGN_IN_MODELS, *SESSION_MODELS, *THROTTLE_MODELS),
        ),
        Migration("core.0004_unlock_links", create_tables(*UNLOCK_MODELS)),
        Migration("core.0005_known_browser_ip_pairs", remember_pairs_from_the_log),
        # The list machinery's; shipped under this name as the Activity plugin's migration.
        Migration("feed.0001_saved_searches", create_tables(SavedSearch)),
        Migration("core.0006_event_metadata", events.add_metadata_columns),
        Migration("core.0007_export_jobs", create_tables(*EXPORT_MODELS)),
        Migration("core.0008_seal_blocks", create_tables(*SEAL_MODELS)),
        Migration("core.0009_retention_policy", create_tables(*RETENTION_MODELS)),
        Migration("core.0010_append_only_records", guard.install),
        Migration("core.0011_replace_notes", create_tables(*REPLACE_MODELS)),
        Migration("core.0012_pseudonymise_permit", guard.reinstall),
        Migration("core.0013_cleared_seal_blocks", add_pairs_sha256),
        Migration("core.0014_row_density", add_density_column),
        Migration("core.0015_session_request_indexes", events.add_session_request_indexes),
    ]


def core_models():
    """Return the tables core owns (people, the event store), for tests and tools."""
    from core.auth.sessions import MODELS as SESSION_MODELS
    from core.auth.signins import MODELS as SIGN_IN_MODELS
    from core.auth.throttle import MODELS as THROTTLE_MODELS
    from core.auth.unlocks import MODELS as UNLOCK_MODELS
    from core.events.models import MODELS as EVENT_MODELS
    from core.evidence.guard import MODELS as GUARD_MODELS
    from core.evidence.replace import MODELS as REPLACE_MODELS
    from core.evidence.seal import MODELS as SEAL_MODELS
    from core.listing.export_jobs import MODELS as EXPORT_MODELS
    from core.listing.saved import SavedSearch
    from core.people import MODELS as PEOPLE_MODELS
    from core.retention import MODELS as RETENTION_MODELS

    return [
        *PEOPLE_MODELS,
        *EVENT_MODELS,
        *SIGN_IN_MODELS,
        *SESSION_MODELS,
        *THROTTLE_MODELS,
        *UNLOCK_MODELS,
        SavedSearch,
        *EXPORT_MODELS,
        *SEAL_MODELS,
        *REPLACE_MODELS,
        *GUARD_MODELS,
        *RETENTION_MODELS,
    ]


def all_migrations(app):
    """Return every migration of core and the plugins, in the order they must run."""
    found = core_migrations()
    for batch in call_at_startup(app, "register_migrations"):
        found.extend(batch)
    names = [migration.name for migration in found]
    duplicated = {name for name in names if names.count(name) > 1}
    if duplicated:
        raise RuntimeError(f"migrations named twice: {', '.join(sorted(duplicated))}")
    return found


def applied_names():
    """Return the names of the migrations already applied."""
    database.create_tables([SchemaMigration])
    return {row.name for row in SchemaMigration.select(SchemaMigration.name)}


def pending(app):
    """Return the migrations not yet applied."""
    done = applied_names()
    return [migration for migration in all_migrations(app) if migration.name not in done]


# The PostgreSQL advisory lock of ``db upgrade``, in the two-integer key space (pg_locks'
# objsubid 2): apart from the one-bigint keys of ``core.records``' commit markers, which
# ``commit_horizon`` reads. Advisory locks are per database, so two databases of one server
# upgrade independently.
MIGRATION_LOCK_KEY = (0x61637473, 1)  # "acts", then the lock's number in that space


@contextmanager
def migration_lock(on_wait=None):
    """Hold the database's migration lock for the block: one upgrade at a time per database.

    When another upgrade holds it, ``on_wait()`` is called once, then the block waits its
    turn. A process that dies lets go of it (a killed upgrade never leaves it held).
    PostgreSQL: a session advisory lock on this thread's connection. SQLite: ``flock`` on
    ``<database file>-upgrade``, taken before the upgrade connects: two processes opening a
    new file at once would both try to turn it to WAL, and one would fail as "locked".
    """
    if is_sqlite():
        with _file_lock(f"{database.obj.database}-upgrade", on_wait):
            yield
        return
    database.connect(reuse_if_open=True)
    cursor = database.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", MIGRATION_LOCK_KEY)
    if not cursor.fetchone()[0]:
        if on_wait is not None:
            on_wait()
        database.execute_sql("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK_KEY)
    try:
        yield
    finally:
        # A connection that is gone took its lock with it: nothing left to release.
        with suppress(peewee.OperationalError, peewee.InterfaceError):
            database.execute_sql("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK_KEY)


@contextmanager
def _file_lock(path, on_wait):
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block."""
    if database.obj.database == ":memory:":
        yield  # a private database: no other process can reach it
        return
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the last descriptor releases the lock


def upgrade(app, on_wait=None):
    """Apply every pending migration, each in its own transaction; return their names.

    Safe to run from several processes at once (``migration_lock``): each migration is applied
    by exactly one of them, and the others return without it. ``on_wait`` is called when this
    one has to wait for another upgrade first.
    """
    applied = []
    with migration_lock(on_wait):
        for migration in pending(app):
            try:
                with database.atomic():
                    if _applied_meanwhile(migration):
                        continue
                    migration.apply()
                    SchemaMigration.create(name=migration.name)
            except Exception as error:
                raise MigrationError(
                    f"migration {migration.name} failed, nothing of it was applied: {error}"
                ) from error
            applied.append(migration.name)
    return applied


def _applied_meanwhile(migration):
    """Tell whether another process applied ``migration`` since ``pending`` was read.

    The migration lock already rules that out for every ``upgrade``; this answer holds even
    for a writer that skipped the lock. Asked inside the migration's transaction: on SQLite it
    holds the write lock from its ``BEGIN IMMEDIATE``, so nothing can apply the migration
    between this answer and the commit.
    """
    return SchemaMigration.select().where(SchemaMigration.name == migration.name).exists()
