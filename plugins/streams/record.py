"""Changes to log streams, recorded on the Activity tab: who added, removed, paused or resumed
which destination (never its secret)."""

from core.events import Ref
from core.events import record_activity


def record_change(actor, action, destination, reason=None):
    """Record ``log_stream.<action>`` of ``destination`` by ``actor`` (None: the system or the
    command line), in the caller's transaction."""
    changes = {}
    if action == "created":
        changes = {
            "url": [None, destination.url],
            "tabs": [None, destination.tabs or "every list tab"],
            "query": [None, destination.query or None],
        }
    elif action in ("paused", "resumed"):
        states = ["active", "paused"] if action == "paused" else ["paused", "active"]
        changes = {"state": states}
        if reason:
            changes["reason"] = [None, reason]
    record_activity(
        actor,
        f"log_stream.{action}",
        Ref("log_stream", destination.id, destination.name),
        changes={key: value for key, value in changes.items() if value[1] is not None},
    )
