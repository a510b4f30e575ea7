"""Changing grants and scopes. Each change is recorded in the event store, in its transaction."""

from dataclasses import dataclass

from core.db import database
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import User
from core.tabs import get_tab
from plugins.settings.grants import role_scope
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant

SHOWN = {True: "visible", False: "hidden"}


def describe_target(kind, target):
    """Return how a grant's holder reads in a change: ``role Teammate``, ``team Sales``…"""
    label = {"role": "role", "user": "person", "team": "team"}[kind]
    return f"{label} {target.name}"


def set_grant(actor, tab, kind, target, granted):
    """Grant or revoke ``tab`` for one role, Staff Member or team; return True if it changed."""
    with database.atomic():
        existing = TabGrant.get_or_none(
            (TabGrant.tab == tab.name) & (getattr(TabGrant, kind) == target)
        )
        if granted == (existing is not None):
            return False
        if granted:
            TabGrant.create(tab=tab.name, **{kind: target})
        else:
            existing.delete_instance()
        record_activity(
            actor,
            "settings.updated",
            _settings_ref(tab),
            changes={describe_target(kind, target): [SHOWN[not granted], SHOWN[granted]]},
            audience=_audience(kind, target),
        )
    return True


def revoke_team_grants(actor, team):
    """Revoke every tab grant of ``team`` (one being deleted), each recorded as a change."""
    for grant in list(TabGrant.select().where(TabGrant.team == team.id)):
        tab = get_tab(grant.tab) or _GoneTab(grant.tab, grant.tab.capitalize())
        set_grant(actor, tab, "team", team, False)


@dataclass(frozen=True)
class _GoneTab:
    """A granted tab whose plugin is no longer installed: its name and a label."""

    name: str
    label: str


def set_scope(actor, tab, role, scope):
    """Set how much of ``tab`` members of ``role`` see; return True if it changed."""
    with database.atomic():
        old = role_scope(role, tab.name)
        if old == scope:
            return False
        RoleScope.delete().where((RoleScope.role == role) & (RoleScope.tab == tab.name)).execute()
        RoleScope.create(role=role, tab=tab.name, scope=scope)
        record_activity(
            actor,
            "settings.updated",
            _settings_ref(tab),
            changes={f"rows seen by role {role.name}": [old, scope]},
        )
    return True


def grant_all_staff(actor, tab):
    """Grant ``tab`` to every current Staff Member (Freelancers and Contacts are not staff);
    return the ids of those who did not hold it."""
    return _set_people(actor, tab, granted=True)


def clear_people(actor, tab):
    """Revoke every individual grant of ``tab``; return the ids of those who held one."""
    return _set_people(actor, tab, granted=False)


def restore_people(actor, tab, user_ids):
    """Grant ``tab`` again to ``user_ids`` (the undo of a Clear): only to those who may hold a
    grant today; return the ids granted."""
    return _set_people(actor, tab, granted=True, only=set(user_ids))


def _set_people(actor, tab, granted, only=None):
    with database.atomic():
        held = {
            grant.user_id
            for grant in TabGrant.select(TabGrant.user).where(
                (TabGrant.tab == tab.name) & TabGrant.user.is_null(False)
            )
        }
        if granted:
            staff = grantable_people()
            changed = [user for user in staff if user.id not in held]
            if only is not None:
                changed = [user for user in changed if user.id in only]
            TabGrant.insert_many([{"tab": tab.name, "user": user.id} for user in changed]).execute()
        else:
            changed = list(User.select(User.id, User.name).where(User.id.in_(held)))
            TabGrant.delete().where(
                (TabGrant.tab == tab.name) & TabGrant.user.is_null(False)
            ).execute()
        if changed:
            names = sorted(user.name for user in changed)
            record_activity(
                actor,
                "settings.updated",
                _settings_ref(tab),
                changes={"people": [SHOWN[not granted], SHOWN[granted]]},
                summary=f"{tab.label} {'granted to' if granted else 'revoked from'} "
                f"{len(names)} Staff Member(s): {', '.join(names)}",
                audience=Audience(users={user.id for user in changed}),
            )
    return [user.id for user in changed]


def grantable_people():
    """Return the Staff Members who can hold an individual grant (everyone staff but the owner)."""
    return list(
        User.select(User, Role)
        .join(Role)
        .where(Role.kind.in_(("admin", "staff")) & (User.active == True))  # noqa: E712
        .order_by(User.name)
    )


def _settings_ref(tab):
    return Ref("settings", tab.name, f"{tab.label} tab visibility")


def _audience(kind, target):
    if kind == "user":
        return Audience(users={target.id})
    if kind == "team":
        return Audience(teams={target.id})
    return Audience()


def revoke_person_grants(user):
    """Delete the tab grants ``user`` holds in person; return the change for the event that
    records why (``{"tabs granted in person": [held, []]}``, or nothing when none)."""
    held = sorted(row.tab for row in TabGrant.select().where(TabGrant.user == user.id))
    if not held:
        return {}
    TabGrant.delete().where(TabGrant.user == user.id).execute()
    return {"tabs granted in person": [held, []]}
