"""The event store's tables: one row per action, and its audience (who it relates to)."""

import peewee

from core.db import BaseModel
from core.db import database
from core.db import is_sqlite
from core.db import utcnow


class ActivityEvent(BaseModel):
    """One action on the platform. Append-only: names are copied in so the row reads right
    after the actor or object is renamed or deleted; ids are kept for links."""

    id = peewee.BigAutoField()
    occurred_at = peewee.DateTimeField(default=utcnow)
    actor_id = peewee.IntegerField(null=True)  # no foreign key: the user may be deleted later
    actor_name = peewee.CharField(max_length=120)
    actor_role = peewee.CharField(max_length=80, default="")
    verb = peewee.CharField(max_length=64)  # dotted: "task.updated"
    action = peewee.CharField(max_length=32)  # the verb's last part: "updated"
    object_type = peewee.CharField(max_length=32)
    object_id = peewee.CharField(max_length=64)
    object_label = peewee.CharField(max_length=200)
    target_type = peewee.CharField(max_length=32, null=True)
    target_id = peewee.CharField(max_length=64, null=True)
    target_label = peewee.CharField(max_length=200, null=True)
    summary = peewee.CharField(max_length=300, default="")  # short, for the list
    changes = peewee.TextField(null=True)  # JSON {field: [old, new]}, read on expand only
    ip = peewee.CharField(max_length=45, null=True)
    user_agent = peewee.CharField(max_length=300, null=True)
    request_id = peewee.CharField(max_length=64, null=True)
    # An actor of another system (recorded over the API): its id there; actor_id is then None.
    actor_external_id = peewee.CharField(max_length=64, null=True)
    metadata = peewee.TextField(null=True)  # JSON object sent with the event, read on expand only
    # The credential of the request that recorded the event: its signed-in session
    # (``session:<id>``) or an API token (``api_token:<id>``, which may name another person
    # as the actor). A column of the first release of the seals: a new one would change the
    # digest of every sealed record.
    recorded_via = peewee.CharField(max_length=64, null=True)

    class Meta:
        indexes = (
            (("actor_id", "id"), False),
            (("actor_id", "verb", "id"), False),  # one person's actions of one kind
            (("verb", "id"), False),
            (("action", "id"), False),
            (("object_type", "object_id", "id"), False),
            (("occurred_at",), False),
            # What one session (or token) did, what one request did: ``session:``, ``request:``.
            (("recorded_via", "id"), False),
            (("request_id", "id"), False),
        )


class ActivityAudience(BaseModel):
    """One party an event relates to: a user (``party = 2 * user id``) or a team (``2 * id + 1``).

    One integer column lets "events related to me or my teams" be a single index range scan.
    """

    event = peewee.BigIntegerField(column_name="event_id")  # an ActivityEvent id
    party = peewee.BigIntegerField()

    class Meta:
        # (party, event): "newest events of this party", and "does this event relate to one
        # of these parties" (one seek per party). No foreign key to the event: only the
        # recorder writes here, in the event's own transaction, and a foreign key needs an
        # (event, party) index — one more b-tree for every recorded event — or each deleted
        # event would scan this table. A purge deletes by (party, event range) first.
        primary_key = peewee.CompositeKey("party", "event")


# Audience parties per statement when rows are read or removed party by party: well under
# SQLite's 32,766 parameters.
PARTY_CHUNK = 5000


def user_party(user_id):
    """Return the audience party number of a user."""
    return 2 * int(user_id)


def team_party(team_id):
    """Return the audience party number of a team."""
    return 2 * int(team_id) + 1


def viewer_parties(viewer):
    """Return the audience parties that make an event relate to ``viewer``: them, their teams."""
    return [user_party(viewer.id)] + [team_party(team) for team in viewer.team_ids()]


MODELS = (ActivityEvent, ActivityAudience)


def create_activity_tables():
    """Create the activity tables. On SQLite the audience is a WITHOUT ROWID table, stored in
    its primary key order (party, event): smaller, and one b-tree less to write per event."""
    database.create_tables([ActivityEvent])
    ActivityAudience._meta.without_rowid = is_sqlite()
    database.create_tables([ActivityAudience])


def drop_audience_foreign_key():
    """Rebuild the audience of a database created with a foreign key to the events and an
    (event, party) index: the same rows, keyed by (party, event) only."""
    if not is_sqlite():
        database.execute_sql(
            "ALTER TABLE activity_audience "
            "DROP CONSTRAINT IF EXISTS activity_audience_event_id_fkey"
        )
        database.execute_sql("DROP INDEX IF EXISTS activity_audience_event_id_party")
        return
    if not database.execute_sql("PRAGMA foreign_key_list(activity_audience)").fetchall():
        return  # created without one
    # SQLite cannot drop a constraint: copy into a table of the new shape, in key order.
    database.execute_sql(
        'CREATE TABLE "activity_audience_rebuilt" ("event_id" INTEGER NOT NULL, '
        '"party" INTEGER NOT NULL, PRIMARY KEY ("party", "event_id")) WITHOUT ROWID'
    )
    database.execute_sql(
        "INSERT INTO activity_audience_rebuilt (event_id, party) "
        "SELECT event_id, party FROM activity_audience ORDER BY party, event_id"
    )
    database.execute_sql("DROP TABLE activity_audience")
    database.execute_sql("ALTER TABLE activity_audience_rebuilt RENAME TO activity_audience")


def add_metadata_columns():
    """Add the external actor's id, the metadata and the credential an event was recorded
    with to ``activity_event`` (nullable: every event recorded before has none). A database
    created by this release has them already."""
    present = {column.name for column in database.get_columns(ActivityEvent._meta.table_name)}
    added = (
        ("actor_external_id", "VARCHAR(64)"),
        ("metadata", "TEXT"),
        ("recorded_via", "VARCHAR(64)"),
    )
    for name, kind in added:
        if name not in present:
            database.execute_sql(f"ALTER TABLE activity_event ADD COLUMN {name} {kind}")


def add_session_request_indexes():
    """Add the (credential, id) and (request, id) indexes: a session's or a request's actions,
    newest first, in a few index steps however old they are."""
    for column in ("recorded_via", "request_id"):
        name = f"activity_event_{column}_id"
        database.execute_sql(f"CREATE INDEX IF NOT EXISTS {name} ON activity_event ({column}, id)")


def add_actor_verb_index():
    """Add the (actor, verb) index to a database created before it existed."""
    database.execute_sql(
        "CREATE INDEX IF NOT EXISTS activity_event_actor_id_verb_id "
        "ON activity_event (actor_id, verb, id)"
    )
