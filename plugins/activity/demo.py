"""A realistic demo history: events over the last 30 days, by people of every role."""

import random
from datetime import timedelta

from core.db import utcnow
from core.demo import demo_users
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import build_entry
from core.events import record_entries

OBJECTS = {
    "company": ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics"],
    "task": ["Q3 report", "Kick-off call", "Invoice review", "Update brand guide", "Onboard Kemi"],
    "document": ["Master services agreement", "Statement of work", "Launch plan", "NDA"],
    "project": ["Website relaunch", "CRM migration", "Annual audit"],
}
CHANGES = {
    "task": [
        {"status": ["open", "in progress"]},
        {"status": ["in progress", "done"], "due_date": ["2026-11-01", "2026-11-08"]},
        {"title": ["Q3 reprot", "Q3 report"], "priority": ["normal", "high"]},
    ],
    "document": [{"title": ["Draft", "Final"]}, {"body": ["v1", "v2"], "shared": [False, True]}],
    "company": [{"phone": ["+1 555 0100", "+1 555 0199"]}, {"industry": ["", "Healthcare"]}],
    "project": [{"stage": ["planning", "delivery"], "budget": ["10000", "12500"]}],
}
ACTIONS = ("created", "updated", "updated", "updated", "commented", "deleted")
HISTORY_SIZE = 600


def seed_history(size=HISTORY_SIZE, seed=7):
    """Write ``size`` events spread over 30 days, unless some activity already exists."""
    if ActivityEvent.select().exists():
        return 0
    users = [user for user in demo_users().values() if user.role.name != "Lead"]
    rng = random.Random(seed)
    now = utcnow()
    moments = sorted(now - timedelta(seconds=rng.randint(60, 30 * 86400)) for _ in range(size))
    entries = []
    for moment in moments:
        actor = rng.choice(users)
        kind = rng.choice(list(OBJECTS))
        index = rng.randrange(len(OBJECTS[kind]))
        action = rng.choice(ACTIONS)
        changes = rng.choice(CHANGES[kind]) if action == "updated" else None
        named = rng.choice(users)
        entries.append(
            build_entry(
                actor,
                f"{kind}.{action}",
                Ref(kind, index + 1, OBJECTS[kind][index]),
                changes=changes,
                audience=Audience(users={named.id}),
                occurred_at=moment,
            )
        )
    record_entries(entries)
    return size
