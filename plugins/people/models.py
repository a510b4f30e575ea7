"""The tables of Manage People and Manage Teams: one-time links, and team ids never reused."""

import peewee

from core.db import BaseModel
from core.db import utcnow
from core.people import User

INVITE = "invite"
RESET = "reset"
PURPOSES = (INVITE, RESET)


class OneTimeLink(BaseModel):
    """A link that lets one person choose a password once: an invitation or a reset.

    Only the SHA-256 of its token is stored, so a copy of the database opens no account. A
    link is spent by its first use, by a newer link for the same person, and by its expiry.
    """

    user = peewee.ForeignKeyField(User, backref="one_time_links", on_delete="CASCADE")
    token_hash = peewee.CharField(max_length=64, unique=True)
    purpose = peewee.CharField(max_length=8, choices=[(p, p) for p in PURPOSES])
    created_by_id = peewee.IntegerField(null=True)  # no foreign key: the admin may go later
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "used_at"), False),)


class RetiredTeam(BaseModel):
    """The id of a deleted team. Past events keep the team in their audience (``2 × id + 1``),
    so a new team must never get that id: SQLite would hand out the highest id again."""

    id = peewee.IntegerField(primary_key=True)
    retired_at = peewee.DateTimeField(default=utcnow)


MODELS = (OneTimeLink, RetiredTeam)
