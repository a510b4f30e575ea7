"""Reading and changing grants. The viewer's grants are read in one query per request."""

from flask import g

from core.people import ADMIN
from core.people import OWNER
from core.people import Role
from core.people import TeamMembership
from core.people import User
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


def remember_granted(people, grants, team_ids):
    """Fill this request's ``granted_tabs`` answers for ``people`` from ``grants``
    (``grants_by_kind()``, every grant) and ``team_ids`` (``{user id: their team ids}``),
    read once for the whole list: asking ``visible_tabs`` of each then reads nothing more."""
    cache = g.setdefault("granted_tabs", {})
    for person in people:
        teams = set(team_ids.get(person.id, ()))
        cache[person.id] = (
            {tab for tab, role_id in grants["role"] if role_id == person.role_id}
            | {tab for tab, user_id in grants["user"] if user_id == person.id}
            | {tab for tab, team_id in grants["team"] if team_id in teams}
        )


def scope_for(viewer, tab):
    """Return the row scope of ``viewer`` on ``tab``: their role's."""
    return role_scope(viewer.role, tab)


def role_scope(role, tab):
    """Return how much of ``tab`` members of ``role`` see: stored, else by the role's kind."""
    stored = (
        RoleScope.select(RoleScope.scope)
        .where((RoleScope.role == role.id) & (RoleScope.tab == tab))
        .scalar()
    )
    return stored or default_scope(role)


def role_scopes(roles, tabs):
    """Return ``{(role id, tab name): scope}`` for ``roles`` x ``tabs``, in one query."""
    stored = {(row.role_id, row.tab): row.scope for row in RoleScope.select()}
    return {
        (role.id, tab.name): stored.get((role.id, tab.name)) or default_scope(role)
        for role in roles
        for tab in tabs
    }


def roles_seeing(tabs):
    """Return ``{(role id, tab name)}`` for the roles of which at least one member can see a
    tab: the role is granted it, or a member holds it in person or through a team. Three
    queries, however many grants there are (a Select All makes one per Staff Member)."""
    names = [tab.name for tab in tabs]
    ours = TabGrant.tab.in_(names)
    by_role = TabGrant.select(TabGrant.role, TabGrant.tab).where(
        ours & TabGrant.role.is_null(False)
    )
    in_person = (
        User.select(User.role, TabGrant.tab)
        .join(TabGrant, on=(TabGrant.user == User.id))
        .where(ours)
        .distinct()
    )
    by_team = (
        User.select(User.role, TabGrant.tab)
        .join(TeamMembership, on=(TeamMembership.user == User.id))
        .join(TabGrant, on=(TabGrant.team == TeamMembership.team))
        .where(ours)
        .distinct()
    )
    seen = {(grant.role_id, grant.tab) for grant in by_role}
    for query in (in_person, by_team):
        seen |= {(role_id, tab) for role_id, tab in query.tuples()}
    return seen


def default_scope(role):
    """Return the scope a role has until Settings says otherwise (docs/design.md, section 2)."""
    return "all" if role.kind in (OWNER, ADMIN) else "related"


def seed_default_grants():
    """Grant the owner and admin roles the built-in tabs (first install only)."""
    roles = Role.select().where(Role.kind.in_((OWNER, ADMIN)))
    for role in roles:
        for tab in DEFAULT_TABS:
            TabGrant.get_or_create(tab=tab, role=role)


def grants_by_kind():
    """Return ``{"role"|"user"|"team": {(tab, id), ...}}`` of every grant, in one query."""
    found = {"role": set(), "user": set(), "team": set()}
    for grant in TabGrant.select():
        for kind in found:
            target_id = getattr(grant, f"{kind}_id")
            if target_id is not None:
                found[kind].add((grant.tab, target_id))
    return found


def team_tabs(team):
    """Return the names of the tabs granted to ``team``."""
    return {row.tab for row in TabGrant.select(TabGrant.tab).where(TabGrant.team == team.id)}


def tabs_lost_with_team(team):
    """Return ``{user id: tab names}``: for each member of ``team`` who would lose a tab with
    it, the tabs it grants that their role, their own grants and their other teams do not."""
    granted = team_tabs(team)
    if not granted:
        return {}
    members = (
        User.select(User, Role)
        .join(Role)
        .switch(User)
        .join(TeamMembership, on=(TeamMembership.user == User.id))
        .where(TeamMembership.team == team.id)
    )
    losses = {}
    for user in members:
        if user.is_owner:
            continue  # the owner sees every tab whatever is granted
        others = TeamMembership.select(TeamMembership.team).where(
            (TeamMembership.user == user.id) & (TeamMembership.team != team.id)
        )
        kept = {
            row.tab
            for row in TabGrant.select(TabGrant.tab).where(
                (TabGrant.role == user.role_id)
                | (TabGrant.user == user.id)
                | TabGrant.team.in_(others)
            )
        }
        if granted - kept:
            losses[user.id] = granted - kept
    return losses
