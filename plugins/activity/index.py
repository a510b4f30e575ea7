"""The Activity tab's full-text index over what a person searches in an event: the actor's and
the objects' names, the action and type, the summary and the changed fields (masked values are
recorded as "(hidden)", so no secret is indexed).

On SQLite it follows the table: the recorder writes the event alone and the index takes new
events in, in batches, every 0.5 s, while searches check the few events above its position
one by one (``TextIndex.follows``). On PostgreSQL it is a stored vector, written with the row.
"""

from core.db import database
from core.db import is_sqlite
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
    # Recording pays for the event alone; the index takes it in at the next catch-up.
    follows=True,
)

# PostgreSQL: the events of one UTC day in id order, so a closed day range is read newest
# first, one short index range per day, merged (``queries._by_day``), as the index's day
# words do on SQLite. Without it, a week 60 days back walked 660,000 newer ids at 1M events.
# The time is included: a range's first and last days are partly outside it, and their rows
# are checked in the index without reading the table.
DAY_INDEX = "activity_event_day_id"
DAY = "CAST(occurred_at AS date)"


def create_day_index():
    """Create the (UTC day, id) index on PostgreSQL (SQLite reads days through its index)."""
    if not is_sqlite():
        database.execute_sql(
            f"CREATE INDEX IF NOT EXISTS {DAY_INDEX} ON {INDEX.table} (({DAY}), id) "
            "INCLUDE (occurred_at)"
        )


MIGRATIONS = [
    Migration("activity_tab.0001_full_text", INDEX.create),
    Migration("activity_tab.0002_day_index", create_day_index),
    # An index written by the recorder's triggers until now follows its table from here on.
    Migration("activity_tab.0003_index_follows", INDEX.create),
]
