"""Reading and changing grants. The viewer's grants are read in one query per request."""

from flask import g

from core.people import ADMIN
from core.people import OWNER
from core.people import Role
from core.people import TeamMembership
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant

# Granted on a new install: the owner and admin kinds see the three built-in tabs.
DEFAULT_TABS = ("activity", "email", "logins")


def granted_tabs(viewer):
    """Return the names of the tabs granted to ``viewer`` by role, individually or by team."""
    cache = g.setdefault("granted_tabs", {})
    if viewer.id not in cache:
        teams = TeamMembership.select(TeamMembership.team).where(TeamMembership.user == viewer.id)
        query = (
            TabGrant.select(TabGrant.tab)
            .distinct()
            .where(
                (TabGrant.role == viewer.role_id)
                | (TabGrant.user == viewer.id)
                | (TabGrant.team.in_(teams))
            )
        )
        cache[viewer.id] = {row.tab for row in query}
    return cache[viewer.id]


def scope_for(viewer, tab):
    """Return the row scope of ``viewer``'s role on ``tab``: stored, else by role kind."""
    stored = (
        RoleScope.select(RoleScope.scope)
        .where((RoleScope.role == viewer.role_id) & (RoleScope.tab == tab))
        .scalar()
    )
    if stored is not None:
        return stored
    return "all" if viewer.role.kind in (OWNER, ADMIN) else "related"


def seed_default_grants():
    """Grant the owner and admin roles the built-in tabs (first install only)."""
    roles = Role.select().where(Role.kind.in_((OWNER, ADMIN)))
    for role in roles:
        for tab in DEFAULT_TABS:
            TabGrant.get_or_create(tab=tab, role=role)


def role_grants():
    """Return ``{tab: {role_id, ...}}`` for every role grant."""
    grants = {}
    for row in TabGrant.select(TabGrant.tab, TabGrant.role).where(TabGrant.role.is_null(False)):
        grants.setdefault(row.tab, set()).add(row.role_id)
    return grants


def grants_by_kind():
    """Return ``{"role"|"user"|"team": {(tab, id), ...}}`` of every grant, in one query."""
    found = {"role": set(), "user": set(), "team": set()}
    for grant in TabGrant.select():
        for kind in found:
            target_id = getattr(grant, f"{kind}_id")
            if target_id is not None:
                found[kind].add((grant.tab, target_id))
    return found


def scopes_by_role():
    """Return ``{(role_id, tab): scope}`` of every stored scope."""
    return {(row.role_id, row.tab): row.scope for row in RoleScope.select()}
