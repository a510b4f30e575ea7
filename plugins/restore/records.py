"""The records of restores: each object a restore brings back is recorded as
``<type>.restored``, linked to the record it undid (``{"undid": <id>}`` in its metadata), and
related to everyone the undone record related to, so it shows where that record showed."""

from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Audience
from core.events import record_activity
from plugins.restore.plans import recorded_metadata

UNDID = "undid"  # the metadata key naming the record a restore undid
ACTION = "restored"


def record_restore(actor, restored):
    """Record one ``Restored`` by ``actor`` in the caller's transaction; return the event."""
    users, teams = parties_of(restored.undid)
    audience = Audience(users=users | set(restored.users), teams=teams | set(restored.teams))
    return record_activity(
        actor,
        f"{restored.ref.type}.{ACTION}",
        restored.ref,
        changes=restored.changes or None,
        target=restored.target,
        audience=audience,
        metadata={UNDID: restored.undid},
    )


def parties_of(event_id):
    """Return the user ids and team ids the record ``event_id`` relates to (its audience)."""
    rows = ActivityAudience.select(ActivityAudience.party).where(ActivityAudience.event == event_id)
    parties = [row.party for row in rows]
    users = {party // 2 for party in parties if party % 2 == 0}
    teams = {(party - 1) // 2 for party in parties if party % 2 == 1}
    return users, teams


def undone_by(event):
    """Return the id of the record ``event`` undid, when it is a restore; else None."""
    if event.action != ACTION:
        return None
    undid = recorded_metadata(event).get(UNDID)
    return undid if isinstance(undid, int) and not isinstance(undid, bool) else None


def restore_of(event):
    """Return the restore record that undid ``event``, if any (the object's own history, read
    through the event store's object index)."""
    query = (
        ActivityEvent.select()
        .where(
            (ActivityEvent.object_type == event.object_type)
            & (ActivityEvent.object_id == event.object_id)
            & (ActivityEvent.action == ACTION)
            & (ActivityEvent.id > event.id)
        )
        .order_by(ActivityEvent.id)
    )
    return next((later for later in query if undone_by(later) == event.id), None)
