"""Restoring from a record of Manage Teams and Manage People: the answers of the People
plugin to the ``restore_plan`` and ``restore`` hooks (``plugins.restore``).

- ``team.deleted``: the team comes back with its id, name, description, color and members
  (by the ids the record keeps; by their names in a record kept before ids were). Its tab
  grants are Settings' and come back only by granting them again there.
- ``team.updated`` of its name, description or color (not of its members): put back.
- ``user.updated``: a person's name, email, role and time zone put back, under the rules of
  Manage People (one Super Admin, nobody changes their own role); a person who had left the
  stream with it gets back the teams they left. A password change is masked: refused.

Each field put back must still hold the value the record left, else the restore is refused
naming the field.
"""

import peewee

from core.db import for_update
from core.events import MASK
from core.events import diff
from core.forms import FieldError
from core.inputs import is_id
from core.people import OWNER
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.people import accounts
from plugins.people import teams
from plugins.people.checks import PSEUDONYM_DOMAIN
from plugins.restore.plans import CHANGED
from plugins.restore.plans import NEVER
from plugins.restore.plans import Plan
from plugins.restore.plans import Refused
from plugins.restore.plans import Restored
from plugins.restore.plans import as_they_were
from plugins.restore.plans import recorded_changes
from plugins.restore.plans import recorded_metadata
from plugins.restore.plans import recorded_people
from plugins.restore.plans import refuse_changed
from plugins.restore.plans import refuse_foreign
from plugins.restore.plans import refuse_masked

PERSON_FIELDS = ("name", "email", "role", "time_zone")
RESTORED_VERBS = ("team.deleted", "team.updated", "user.updated")
GRANTS_NOTE = "its tab grants come back only by granting them again in Settings"


def restore_plan(event):
    """Return the ``Plan`` of restoring ``event`` (None: not a restorable team or person
    record); raise ``Refused`` when it cannot be restored now."""
    return _dispatch(event, actor=None)


def restore(event, actor):
    """Restore ``event`` as ``actor`` in the caller's transaction; return what came back."""
    return _dispatch(event, actor)


def _dispatch(event, actor):
    if not is_id(event.object_id) or event.verb not in RESTORED_VERBS:
        return None
    refuse_foreign(event)
    if event.verb == "team.deleted":
        return _undelete_team(event, actor)
    if event.verb == "team.updated" and "members" not in recorded_changes(event):
        return _undo_team_change(event, actor)
    if event.verb == "user.updated":
        return _undo_person_change(event, actor)
    return None


# Teams ---------------------------------------------------------------------------------------


def _undelete_team(event, actor):
    changes = recorded_changes(event)
    refuse_masked(changes)
    team_id = int(event.object_id)
    if Team.select().where(Team.id == team_id).exists():
        raise Refused("This team exists again: there is nothing to bring back.", CHANGED)
    values = _team_values({name: changes.get(name, [""])[0] for name in teams.FIELDS})
    _refuse_team_name_taken(values["name"], team_id)
    ids = _ids_before(event, "members")
    members = _people("members", ids, (changes.get("members") or [[]])[0] or [])
    for user in members:
        if not (user.is_staff and user.active):
            raise Refused(f"Members: {user.name} is not an active Staff Member now.", CHANGED)
    if actor is None:
        return Plan(f"Brings back the team “{values['name']}” with its members", (GRANTS_NOTE,))
    team = Team(id=team_id, **values)
    teams._save(team, force_insert=True)
    if members:
        TeamMembership.insert_many([{"team": team_id, "user": u.id} for u in members]).execute()
    state = {**values, **({"members": sorted(u.name for u in members)} if members else {})}
    restored = Restored(
        teams.ref(team),
        diff(None, state),
        event.id,
        users=frozenset(u.id for u in members),
        teams=frozenset({team_id}),
    )
    return [restored]


def _undo_team_change(event, actor):
    changes = recorded_changes(event)
    refuse_masked(changes)
    if not changes or set(changes) - set(teams.FIELDS):
        return None
    query = Team.select().where(Team.id == int(event.object_id))
    current = (for_update(query) if actor else query).first()
    if current is None:
        raise Refused("This team no longer exists: restore its deletion first.", CHANGED)
    for name, (_old, new) in changes.items():
        refuse_changed(name, getattr(current, name), new)
    before = {name: getattr(current, name) for name in teams.FIELDS}
    values = _team_values({**before, **{name: old for name, (old, _new) in changes.items()}})
    if values["name"].lower() != current.name.lower():
        _refuse_team_name_taken(values["name"], current.id)
    if actor is None:
        return Plan(f"Puts back {as_they_were(list(changes))} before this change")
    for name, value in values.items():
        setattr(current, name, value)
    teams._save(current)
    restored = Restored(
        teams.ref(current), diff(before, values), event.id, teams=frozenset({current.id})
    )
    return [restored]


def _team_values(fields):
    try:
        return teams.team_values(fields["name"], fields["description"], fields["color"])
    except FieldError as error:
        raise Refused(f"{error.field}: {error.message}, so it cannot be put back.") from None


def _refuse_team_name_taken(name, team_id):
    taken = Team.select().where((peewee.fn.LOWER(Team.name) == name.lower()) & (Team.id != team_id))
    if taken.exists():
        raise Refused(f"A team named “{name}” exists now: rename it first.", CHANGED)


# People --------------------------------------------------------------------------------------


def _undo_person_change(event, actor):
    changes = recorded_changes(event)
    refuse_masked(changes)
    fields = [name for name in PERSON_FIELDS if name in changes]
    if not fields:
        return None
    query = User.select(User, Role).join(Role).where(User.id == int(event.object_id))
    current = (for_update(query) if actor else query).first()
    if current is None:
        raise Refused("This person no longer exists.", CHANGED)
    before = accounts._state(current)
    for name in fields:
        refuse_changed(name, before[name], changes[name][1])
    if current.email.endswith(f"@{PSEUDONYM_DOMAIN}"):
        raise Refused("This person was pseudonymised: their account stays as it is.", NEVER)
    wanted = {**before, **{name: changes[name][0] for name in fields}}
    try:
        values = accounts.person_values(**wanted)
    except FieldError as error:
        raise Refused(f"{error.field}: {error.message}, so it cannot be put back.") from None
    role = values["role"]
    if current.is_owner and role.kind != OWNER:
        raise Refused("The Super Admin cannot be demoted.", NEVER)
    if not current.is_owner and role.kind == OWNER:
        raise Refused(f"Role: {accounts.ONLY_ONE_OWNER}.", NEVER)
    taken = User.select().where((User.email == values["email"]) & (User.id != current.id))
    if taken.exists():
        raise Refused(f"Email: {values['email']} is someone else's sign-in now.", CHANGED)
    came_back = _teams_left(event, changes) if role.is_staff else []
    notes = [f"{name} is not put back" for name in sorted(set(changes) - {*PERSON_FIELDS, "teams"})]
    if actor is None:
        return Plan(f"Puts back {as_they_were(fields)} before this change", tuple(notes))
    if current.is_owner and not actor.is_owner:
        raise Refused("Only the Super Admin changes the Super Admin's account.", 403)
    if current.id == actor.id and role.id != current.role_id:
        raise Refused("You cannot change your own role; ask another admin.", NEVER)
    was_staff = current.is_staff
    for name, value in values.items():
        setattr(current, name, value)
    restored = diff(before, accounts._state(current))
    if was_staff and not current.is_staff:
        left, _ = accounts._leave_the_stream(current)
        restored.update(left)
    current.save()
    if came_back:
        held = {m.team_id for m in TeamMembership.select().where(TeamMembership.user == current.id)}
        rows = [{"team": t.id, "user": current.id} for t in came_back if t.id not in held]
        if rows:
            TeamMembership.insert_many(rows).execute()
            restored["teams"] = [[], sorted(t.name for t in came_back if t.id not in held)]
    return [Restored(accounts.ref(current), restored, event.id, users=frozenset({current.id}))]


def _teams_left(event, changes):
    """Return the teams the record's person left with the change and that still exist."""
    left = changes.get("teams")
    if not left or left[0] in (None, MASK):
        return []
    ids = _ids_before(event, "teams")
    if ids is not None:
        return list(Team.select().where(Team.id.in_(list(ids))))
    names = {name.lower() for name in left[0]}
    return [team for team in Team.select() if team.name.lower() in names]


def _ids_before(event, field):
    """Return the ids the record keeps of ``field`` before the change (None: none kept)."""
    ids = recorded_metadata(event).get("ids")
    pair = ids.get(field) if isinstance(ids, dict) else None
    before = pair[0] if isinstance(pair, list) and len(pair) == 2 else None
    if isinstance(before, list) and all(type(item) is int for item in before):
        return before
    return None


def _people(field, ids, names):
    """Return the users a team's field recorded (``recorded_people``)."""
    return recorded_people(field.title(), ids, names, "Add them on the team's page.")
