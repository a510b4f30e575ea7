"""The alerts' one table: what each person follows and where they are in it.

A row is either a followed saved search (``search_id``) or a person's state of one built-in
alert (``builtin``). ``cursor`` is the id of the last record of the tab handled
(``core.listing.follow``); ``next_due`` the next digest (UTC); ``last_sent_at`` the last mail,
which a built-in with a rate (IP locks: once an hour) reads.
"""

import peewee

from core.db import BaseModel
from core.db import utcnow

INSTANT = "instant"
DAILY = "daily"
WEEKLY = "weekly"
OFF = "off"
MODES = (OFF, INSTANT, DAILY, WEEKLY)
MODE_LABELS = {
    OFF: "Off",
    INSTANT: "Tell me at once",
    DAILY: "Daily digest",
    WEEKLY: "Weekly digest",
}


class AlertRule(BaseModel):
    """One person's follow of one saved search, or their state of one built-in alert."""

    id = peewee.AutoField()
    user_id = peewee.IntegerField()
    search_id = peewee.IntegerField(null=True)  # a saved search (core.listing.saved)
    builtin = peewee.CharField(max_length=32, null=True)  # a built-in's key (builtins.py)
    tab = peewee.CharField(max_length=32)
    mode = peewee.CharField(max_length=8, default=INSTANT)
    cursor = peewee.BigIntegerField(default=0)
    next_due = peewee.DateTimeField(null=True)
    last_sent_at = peewee.DateTimeField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "alert_rule"
        # One follow per saved search (a saved search is one person's); one state per person
        # and built-in. NULLs do not collide in either unique index, on SQLite or PostgreSQL.
        indexes = ((("search_id",), True), (("user_id", "builtin"), True))


MODELS = [AlertRule]
