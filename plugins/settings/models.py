"""Grants: who may see which configurable tab, and how much of it each role sees."""

import peewee

from core.db import BaseModel
from core.db import utcnow
from core.people import Role
from core.people import Team
from core.people import User

SCOPES = ("all", "related")


class TabGrant(BaseModel):
    """One grant of one tab to exactly one of: a role, a Staff Member, a team."""

    tab = peewee.CharField(max_length=32)
    role = peewee.ForeignKeyField(Role, null=True, on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, null=True, on_delete="CASCADE")
    team = peewee.ForeignKeyField(Team, null=True, on_delete="CASCADE")
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("tab", "role"), True),
            (("tab", "user"), True),
            (("tab", "team"), True),
            (("role",), False),
            (("user",), False),
            (("team",), False),
        )
        constraints = [
            peewee.Check(
                "(CASE WHEN role_id IS NULL THEN 0 ELSE 1 END) + "
                "(CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) + "
                "(CASE WHEN team_id IS NULL THEN 0 ELSE 1 END) = 1"
            )
        ]


class RoleScope(BaseModel):
    """How much of a tab a role sees: every row (``all``) or what relates to them."""

    role = peewee.ForeignKeyField(Role, on_delete="CASCADE")
    tab = peewee.CharField(max_length=32)
    scope = peewee.CharField(max_length=8, choices=[(s, s) for s in SCOPES])

    class Meta:
        indexes = ((("role", "tab"), True),)


MODELS = (TabGrant, RoleScope)
