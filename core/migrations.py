"""Versioned schema migrations: each applied once, in order, recorded in ``schema_migration``.

A migration is a named function. Core's come first, then each plugin's in registration order.
A later release adds a new migration (``playhouse.migrate`` for column changes) and never edits
one that has shipped, so ``db upgrade`` takes any older database forward without losing a row.
"""

from collections.abc import Callable
from dataclasses import dataclass

import peewee

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.plugins import hooks


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


def all_migrations(app):
    """Return every migration of core and the plugins, in the order they must run."""
    from core.people import MODELS
    from core.people import seed_roles

    found = [
        Migration("core.0001_people", create_tables(*MODELS)),
        Migration("core.0002_seed_roles", seed_roles),
    ]
    for batch in hooks(app).register_migrations():
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


def upgrade(app):
    """Apply every pending migration, each in its own transaction; return their names."""
    applied = []
    for migration in pending(app):
        with database.atomic():
            migration.apply()
            SchemaMigration.create(name=migration.name)
        applied.append(migration.name)
    return applied
