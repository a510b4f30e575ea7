"""The log streams' tables: destinations, each one's place in every tab, and its delivery log.

A destination's records come from the tabs' own tables: nothing is copied at write time. Each
destination keeps, per tab, the id of the last record its receiver acknowledged (``StreamCursor``):
the event store is the outbox, written in the recorded action's transaction as every record is,
and a record committed is a record the stream will send (``plugins.streams.delivery``).
"""

import peewee

from core.db import BaseModel
from core.db import utcnow
from core.search.language import MAX_QUERY

ACTIVE = "active"
PAUSED = "paused"
STATES = (ACTIVE, PAUSED)


class StreamDestination(BaseModel):
    """Where records are sent: a URL, the tabs and search chosen, the signing secret, whose
    visibility the records are read under (``owner_id``) and how delivery is going."""

    id = peewee.AutoField()
    name = peewee.CharField(max_length=80)
    url = peewee.CharField(max_length=2000)
    tabs = peewee.CharField(max_length=400, default="")  # comma-separated; "" = every list tab
    query = peewee.CharField(max_length=MAX_QUERY, default="")
    secret = peewee.CharField(max_length=200)
    owner_id = peewee.IntegerField()  # records are read as this person may see them
    created_by = peewee.IntegerField(null=True)  # None: added from the command line
    created_at = peewee.DateTimeField(default=utcnow)
    state = peewee.CharField(max_length=10, default=ACTIVE)
    paused_reason = peewee.CharField(max_length=300, default="")
    failures = peewee.IntegerField(default=0)  # in a row
    failing_since = peewee.DateTimeField(null=True)
    next_attempt_at = peewee.DateTimeField(null=True)
    last_success_at = peewee.DateTimeField(null=True)
    last_error = peewee.CharField(max_length=500, default="")
    delivered = peewee.BigIntegerField(default=0)  # records acknowledged, all time
    lease_until = peewee.DateTimeField(null=True)  # one sender at a time: order is kept
    lease_token = peewee.CharField(max_length=16, null=True)

    class Meta:
        table_name = "stream_destination"

    def tab_names(self):
        """Return the tabs chosen, as a list (empty: every list tab)."""
        return [name for name in self.tabs.split(",") if name]

    def secret_hint(self):
        """Return the secret as the page shows it: its last four characters only."""
        return f"…{self.secret[-4:]}"


class StreamCursor(BaseModel):
    """The last record of ``tab`` that ``destination_id``'s receiver acknowledged."""

    destination_id = peewee.IntegerField()
    tab = peewee.CharField(max_length=32)
    last_id = peewee.BigIntegerField()

    class Meta:
        table_name = "stream_cursor"
        primary_key = peewee.CompositeKey("destination_id", "tab")


class StreamDelivery(BaseModel):
    """One request to a destination: when, how long, the answer, which records, the error."""

    id = peewee.BigAutoField()
    destination_id = peewee.IntegerField()
    started_at = peewee.DateTimeField(default=utcnow)
    latency_ms = peewee.IntegerField(default=0)
    status_code = peewee.IntegerField(null=True)  # None: no answer (refused, timed out)
    ok = peewee.BooleanField(default=False)
    tab = peewee.CharField(max_length=32, default="")
    records = peewee.IntegerField(default=0)
    first_id = peewee.BigIntegerField(null=True)
    last_id = peewee.BigIntegerField(null=True)
    attempt = peewee.IntegerField(default=1)  # the failures in a row before it, + 1
    test = peewee.BooleanField(default=False)
    error = peewee.CharField(max_length=500, default="")

    class Meta:
        table_name = "stream_delivery"
        indexes = ((("destination_id", "id"), False),)


MODELS = [StreamDestination, StreamCursor, StreamDelivery]
DELIVERIES_KEPT = 200  # per destination: the log shows the latest
