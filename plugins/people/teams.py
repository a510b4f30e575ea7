"""Manage Teams' write path: every change to a team and its record commit together.

Each function takes the acting user (the owner or an admin), checks its input (``Invalid``
naming the field), then in one transaction changes the team and records it with
``record_activity``: ``team.created``, ``team.updated`` (name, description, color, members:
``+Dana Scully``), ``team.deleted``. What other plugins give a team goes with it, through
the ``team_deleted`` hook (Settings revokes its tab grants, each revocation recorded).
Nothing changes and nothing is recorded when nothing would change.
"""

from dataclasses import dataclass

import peewee
from flask import current_app

from core.db import database
from core.db import for_update
from core.db import is_sqlite
from core.events import Audience
from core.events import Ref
from core.events import diff
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.plugins import hooks
from core.tabs import all_tabs
from core.tabs import get_tab
from plugins.people import checks
from plugins.people.checks import Invalid
from plugins.people.models import RetiredTeam

DEFAULT_COLOR = "#4f46e5"
FIELDS = ("name", "description", "color")


def team_values(name, description, color):
    """Return the checked fields of a team."""
    return {
        "name": checks.text(name, "name", checks.LIMITS["name"], required=True),
        "description": checks.text(description, "description", checks.LIMITS["description"]),
        "color": checks.color(color or DEFAULT_COLOR),
    }


def create_team(actor, name, description="", color=DEFAULT_COLOR):
    """Create a team; return it."""
    checks.require_manager(actor)
    values = team_values(name, description, color)
    with database.atomic():
        _refuse_taken(values["name"])
        team = Team(**values)
        if is_sqlite():
            # SQLite gives a new row the highest id + 1, which may be a deleted team's: past
            # events name that team in their audience, and the new team's members would see them.
            team.id = _next_team_id()
        _save(team, force_insert=True)
        record_activity(
            actor,
            "team.created",
            ref(team),
            changes=diff(None, _state(team, [])),
            audience=Audience(teams={team.id}),
        )
    return team


def update_team(actor, team, name, description, color):
    """Change a team's name, description and color; return the event (None: no change)."""
    checks.require_manager(actor)
    values = team_values(name, description, color)
    with database.atomic():
        current = _locked(team)
        before = _state(current, [])
        if values["name"].lower() != current.name.lower():
            _refuse_taken(values["name"])
        for field, value in values.items():
            setattr(current, field, value)
        changes = diff(before, _state(current, []))
        if not changes:
            return None
        _save(current)
        team.__data__.update(current.__data__)
        return record_activity(
            actor,
            "team.updated",
            ref(current),
            changes=changes,
            audience=Audience(teams={current.id}),
        )


def set_member(actor, team, user, member):
    """Add ``user`` to ``team`` (``member`` True) or take them out; return the event, or None
    when they already were (or were not) in it. Only active Staff Members join a team."""
    checks.require_manager(actor)
    if member and not (user.is_staff and user.active):
        raise Invalid("user", f"{user.name} is not an active Staff Member")
    with database.atomic():
        current = _locked(team)
        names = member_names(current)
        held = TeamMembership.get_or_none(
            (TeamMembership.team == current.id) & (TeamMembership.user == user.id)
        )
        if member == (held is not None):
            return None
        if member:
            TeamMembership.create(team=current.id, user=user.id)
        else:
            held.delete_instance()
        after = member_names(current)
        sign = "+" if member else "−"
        return record_activity(
            actor,
            "team.updated",
            ref(current),
            changes={"members": [names, after]},
            summary=f"Members: {sign}{user.name}",
            audience=Audience(users={user.id}, teams={current.id}),
        )


def delete_team(actor, team):
    """Delete ``team``, its memberships and its tab grants (each recorded); no user is deleted.
    Return the event."""
    checks.require_manager(actor)
    with database.atomic():
        current = _locked(team)
        members = list(members_of(current))
        # What other plugins give the team (Settings: its tab grants) goes first, each
        # recorded, in this transaction.
        hooks(current_app).team_deleted(team=current, actor=actor)
        before = _state(current, [user.name for user in members])
        TeamMembership.delete().where(TeamMembership.team == current.id).execute()
        RetiredTeam.insert(id=current.id).on_conflict_ignore().execute()
        current.delete_instance()
        # The members by id too, so a restore brings back these people, not namesakes.
        ids = {"members": [sorted(user.id for user in members), None]} if members else {}
        return record_activity(
            actor,
            "team.deleted",
            ref(current),
            changes=diff(before, None),
            summary="",
            audience=Audience(users={user.id for user in members}, teams={current.id}),
            metadata={"ids": ids} if ids else None,
        )


@dataclass(frozen=True)
class Loss:
    """What deleting a team takes from one member: the tabs only the team gave them."""

    user: User
    tabs: tuple


def grants_lost(team):
    """Return, for each member who would lose a tab with ``team``, which tabs: those the
    plugins granting tabs (Settings) give them only through the team (``team_tab_losses``)."""
    lost = {}
    for answer in hooks(current_app).team_tab_losses(team=team):
        for user_id, tabs in (answer or {}).items():
            lost.setdefault(user_id, set()).update(tabs)
    if not lost:
        return []
    return [
        Loss(user, tuple(_tab_label(name) for name in sorted(lost[user.id])))
        for user in members_of(team)
        if lost.get(user.id)
    ]


def granted_tabs(team):
    """Return the labels of the tabs granted to ``team`` (``team_granted_tabs``), in tab-bar
    order."""
    names = set()
    for answer in hooks(current_app).team_granted_tabs(team=team):
        names.update(answer or ())
    known = [tab.label for tab in all_tabs() if tab.name in names]
    return known + sorted(names - {tab.name for tab in all_tabs()})


def members_of(team):
    """Return the members of ``team`` with their roles, by name (one query)."""
    return (
        User.select(User, Role)
        .join(Role)
        .switch(User)
        .join(TeamMembership, on=(TeamMembership.user == User.id))
        .where(TeamMembership.team == team.id)
        .order_by(User.name)
    )


def member_names(team):
    """Return the names of ``team``'s members, sorted."""
    return sorted(user.name for user in members_of(team))


def ref(team):
    """Return what an event about ``team`` is about."""
    return Ref("team", team.id, team.name)


def _state(team, members):
    state = {field: getattr(team, field) for field in FIELDS}
    if members:
        state["members"] = sorted(members)
    return state


def _locked(team):
    current = for_update(Team.select().where(Team.id == team.id)).first()
    if current is None:
        raise Invalid("team", "that team no longer exists")
    return current


def _save(team, **options):
    """Save ``team``; a name taken meanwhile by another request is refused on ``name``."""
    try:
        with database.atomic():
            team.save(**options)
    except peewee.IntegrityError:
        raise Invalid("name", f"a team named “{team.name}” already exists") from None


def _refuse_taken(name):
    taken = Team.select().where(peewee.fn.LOWER(Team.name) == name.lower()).exists()
    if taken:
        raise Invalid("name", f"a team named “{name}” already exists")


def _next_team_id():
    highest = max(
        Team.select(peewee.fn.MAX(Team.id)).scalar() or 0,
        RetiredTeam.select(peewee.fn.MAX(RetiredTeam.id)).scalar() or 0,
    )
    return highest + 1


def _tab_label(name):
    tab = get_tab(name)
    return tab.label if tab is not None else name
