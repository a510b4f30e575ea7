"""When a digest is due: daily at 07:00 in the follower's time zone, weekly on Monday 07:00.

Times are stored as naive UTC (as every time in the database); the wall clock is the
follower's (``User.zone()``), so a digest stays at 07:00 across daylight saving changes.
"""

from datetime import UTC
from datetime import timedelta

from plugins.alerts.models import DAILY
from plugins.alerts.models import WEEKLY

DIGESTS = (DAILY, WEEKLY)
HOUR = 7  # local time of every digest
MONDAY = 0


def next_due(mode, zone, now):
    """Return the next time (naive UTC, strictly after ``now``, itself naive UTC) a ``mode``
    digest is due in ``zone``; None for a mode that is not a digest."""
    if mode not in DIGESTS:
        return None
    local = now.replace(tzinfo=UTC).astimezone(zone)
    due = local.replace(hour=HOUR, minute=0, second=0, microsecond=0)
    if mode == WEEKLY:
        due += timedelta(days=(MONDAY - due.weekday()) % 7)
    step = timedelta(days=7 if mode == WEEKLY else 1)
    # Aware arithmetic on one zone keeps the wall clock: 07:00 stays 07:00 over a DST change.
    while due <= local:
        due += step
    return due.astimezone(UTC).replace(tzinfo=None)
