"""The event store: one append-only record of every action on the platform.

Any code that changes something records it here, in the transaction of the change: the host
platform, the Settings tab, any plugin. The Activity tab only reads it, so turning that tab off
loses no record.

``models`` holds the tables (an event and its audience, the parties it relates to),
``recorder`` writes them (the only way), ``changes`` captures field-level changes with
secrets masked.
"""

from core.events.changes import MASK
from core.events.changes import diff
from core.events.changes import snapshot
from core.events.models import ActivityAudience
from core.events.models import ActivityEvent
from core.events.models import team_party
from core.events.models import user_party
from core.events.models import viewer_parties
from core.events.recorder import Audience
from core.events.recorder import RecordError
from core.events.recorder import Ref
from core.events.recorder import build_entry
from core.events.recorder import record_activity
from core.events.recorder import record_entries

__all__ = [
    "MASK",
    "ActivityAudience",
    "ActivityEvent",
    "Audience",
    "RecordError",
    "Ref",
    "build_entry",
    "diff",
    "record_activity",
    "record_entries",
    "snapshot",
    "team_party",
    "user_party",
    "viewer_parties",
]
