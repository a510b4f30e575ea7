"""The Activity tab's full-text index over what a person searches in an event: the actor's and
the objects' names, the action and type, the summary and the changed fields (masked values are
recorded as "(hidden)", so no secret is indexed).

Kept in the writer's transaction (on SQLite triggers, or one statement per batch; on
PostgreSQL a stored vector), so every writer of the event store, the bulk path included, writes
it in its own transaction.
"""

from core.events import ActivityEvent
from core.migrations import Migration
from core.search.index import TextIndex

INDEX = TextIndex(
    name="activity_search",
    table=ActivityEvent._meta.table_name,
    columns=(
        "actor_name",
        "action",
        "object_type",
        "object_label",
        "target_label",
        "summary",
        "changes",
    ),
    # The UTC day as one word (20261101): a day range is read newest first through the index;
    # the actor's id as one (a17): words and an actor are intersected by the index itself.
    derived=(
        ("day", "replace(substr({row}.occurred_at, 1, 10), '-', '')", "occurred_at"),
        ("actor", "'a' || {row}.actor_id", "actor_id"),
    ),
)

MIGRATIONS = [Migration("activity_tab.0001_full_text", INDEX.create)]
