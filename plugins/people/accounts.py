"""Manage People's write path: creating, changing, deactivating people, and their links.

Each function takes the acting user (the owner or an admin), checks its input, then in one
transaction makes the change and records it with ``record_activity`` (``user.created``,
``user.updated`` with ``role: Teammate → Admin``, ``user.deactivated``, ``user.reactivated``,
``user.password_link``). The Super Admin is never deactivated, demoted or doubled: there is
always exactly one. A grant follows its holder: a person who stops being a Staff Member
leaves their teams and loses their own tab grants in the same transaction, and the stream
gate refuses them from their next request. A deactivated person's sessions end at once.
"""

from dataclasses import dataclass

import peewee
from flask import current_app

from core.auth import sessions
from core.auth.security import Refused
from core.auth.security import check_new_password
from core.db import database
from core.db import for_update
from core.events import Audience
from core.events import Ref
from core.events import diff
from core.events import record_activity
from core.notifications import Notification
from core.notifications import notify
from core.people import OWNER
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.people import create_user
from core.plugins import hooks
from plugins.people import checks
from plugins.people import links
from plugins.people.checks import PSEUDONYM_DOMAIN
from plugins.people.checks import Invalid
from plugins.people.models import INVITE
from plugins.people.models import RESET

FIELDS = ("name", "email", "role", "time_zone")
ONLY_ONE_OWNER = "there is already a Super Admin, and there is only ever one"


@dataclass(frozen=True)
class LinkSent:
    """A one-time link just issued: mailed (``mailed``) or to be shown to the admin (``url``)."""

    user: User
    url: str
    mailed: bool


def person_values(name, email, role, time_zone):
    """Return the checked fields of a person (``role``: a role id or name)."""
    return {
        "name": checks.text(name, "name", checks.LIMITS["person_name"], required=True),
        "email": checks.email(email),
        "role": checks.role(role),
        "time_zone": checks.time_zone(time_zone or "UTC"),
    }


def create_person(actor, name, email, role, time_zone="UTC"):
    """Create a Staff Member, Freelancer or Contact and invite them with a one-time link to
    choose their password; return the ``LinkSent`` (no link for a role that may not sign in)."""
    checks.require_manager(actor)
    values = person_values(name, email, role, time_zone)
    if values["role"].kind == OWNER:
        raise Invalid("role", ONLY_ONE_OWNER)
    with database.atomic():
        if User.select().where(User.email == values["email"]).exists():
            raise Invalid("email", f"{values['email']} is already someone's sign-in")
        try:
            user = create_user(
                values["name"],
                values["email"],
                values["role"].name,
                time_zone=values["time_zone"],
            )
        except ValueError as error:  # the core's own checks, naming the field
            field, _, message = str(error).partition(": ")
            raise Invalid(field, message) from None
        except peewee.IntegrityError:  # the same email, added meanwhile by another request
            raise Invalid("email", f"{values['email']} is already someone's sign-in") from None
        record_activity(
            actor,
            "user.created",
            ref(user),
            changes=diff(None, _state(user)),
            audience=Audience(users={user.id}),
        )
        if not user.role.can_sign_in:
            return LinkSent(user, "", False)
        return _send_link(actor, user, INVITE)


def update_person(actor, user, name, email, role, time_zone):
    """Change a person's name, email, role and time zone; return the event (None: nothing
    changed). Nobody becomes a second Super Admin; the Super Admin keeps the role; only the
    Super Admin changes their own account; nobody changes their own role."""
    checks.require_manager(actor)
    values = person_values(name, email, role, time_zone)
    with database.atomic():
        current = _locked(user)
        if current.is_owner and not actor.is_owner:
            raise checks.Denied("Only the Super Admin changes the Super Admin's account.")
        if current.is_owner and values["role"].kind != OWNER:
            raise Invalid("role", "the Super Admin cannot be demoted")
        if not current.is_owner and values["role"].kind == OWNER:
            raise Invalid("role", ONLY_ONE_OWNER)
        if current.id == actor.id and values["role"].id != current.role_id:
            raise Invalid("role", "you cannot change your own role; ask another admin")
        taken = User.select().where((User.email == values["email"]) & (User.id != current.id))
        if taken.exists():
            raise Invalid("email", f"{values['email']} is already someone's sign-in")
        before = _state(current)
        was_staff = current.is_staff
        for field, value in values.items():
            setattr(current, field, value)
        changes = diff(before, _state(current))
        if not changes:
            return None
        metadata = None
        if was_staff and not current.is_staff:
            left, teams = _leave_the_stream(current)
            changes.update(left)
            # The teams by id too, so a restore brings them back even after a rename.
            metadata = {"ids": {"teams": [teams, []]}} if teams else None
        try:
            with database.atomic():
                current.save()
        except peewee.IntegrityError:  # the email, taken meanwhile by another request
            raise Invalid("email", f"{values['email']} is already someone's sign-in") from None
        user.__data__.update(current.__data__)
        return record_activity(
            actor,
            "user.updated",
            ref(current),
            changes=changes,
            audience=Audience(users={current.id}),
            metadata=metadata,
        )


def set_active(actor, user, active):
    """Deactivate (ending every session at once) or reactivate ``user``; return the event,
    or None when they already were. The Super Admin and oneself are never deactivated."""
    checks.require_manager(actor)
    with database.atomic():
        current = _locked(user)
        if not active and current.is_owner:
            raise Invalid("active", "the Super Admin cannot be deactivated")
        if not active and current.id == actor.id:
            raise Invalid("active", "you cannot deactivate yourself; ask another admin")
        if active and current.email.endswith(f"@{PSEUDONYM_DOMAIN}"):
            raise Invalid("active", "a pseudonymised person's account stays closed")
        if current.active == active:
            return None
        current.active = active
        if not active:
            # Every cookie issued before is dead at once, and each open session is closed
            # (and recorded on the sign-in log), as "sign out everywhere" does.
            current.session_generation += 1
        current.save()
        if not active:
            sessions.end_all_sessions(current.id, "revoked", f"deactivated by {actor.name}")
        user.__data__.update(current.__data__)
        return record_activity(
            actor,
            "user.deactivated" if not active else "user.reactivated",
            ref(current),
            changes={"active": [not active, active]},
            audience=Audience(users={current.id}),
        )


def send_password_link(actor, user):
    """Issue a one-time link for ``user`` to choose a new password; return the ``LinkSent``.
    Their password keeps working until they use the link."""
    checks.require_manager(actor)
    if user.is_owner and not actor.is_owner:
        raise checks.Denied("Only the Super Admin resets the Super Admin's password.")
    if not user.active:
        raise Invalid("active", f"{user.name} is deactivated: reactivate them first")
    if not user.role.can_sign_in:
        raise Invalid("role", f"a {user.role.name} may not sign in, so has no password")
    with database.atomic():
        return _send_link(actor, user, RESET)


def _send_link(actor, user, purpose):
    """Issue the link and mail it when mail is configured; record that it was issued."""
    token = links.issue(actor, user, purpose)
    url = links.url_of(token)
    mailed = links.mail_is_configured()
    if mailed:
        notify(
            Notification(
                kind=f"user.{purpose}",
                recipients=(user,),
                subject="Choose your password" if purpose == INVITE else "Reset your password",
                template=f"people/mail/{purpose}",
                context={"url": url, "actor": actor, "valid_for": links.VALID_FOR[purpose]},
                private=True,  # the link opens the account: listed to its recipient only
            )
        )
    how = "mailed to them" if mailed else "shown to the admin"
    what = "invitation" if purpose == INVITE else "password reset link"
    record_activity(
        actor,
        "user.password_link",
        ref(user),
        summary=f"One-time {what} {how}",
        audience=Audience(users={user.id}),
    )
    return LinkSent(user, "" if mailed else url, mailed)


def choose_password(link, password, confirmation):
    """Set the password of the link's user and spend the link; every other session of theirs
    ends. Return the user."""
    try:  # the one rule of new passwords, the Security page's too
        check_new_password(password, confirmation)
    except Refused as refused:
        field = "password" if refused.field == "new_password" else refused.field
        raise Invalid(field, refused.message) from None
    with database.atomic():
        if not links.spend(link):
            raise Invalid("link", "this link was used already")
        user = _locked(link.user)
        user.set_password(password)  # moves the session generation on
        user.save()
        sessions.end_all_sessions(user.id, "revoked", "password chosen from a one-time link")
        record_activity(
            user,
            "user.updated",
            ref(user),
            changes={"password": ["(hidden)", "(hidden)"]},
            summary="Password chosen from a one-time link",
        )
    return user


def _leave_the_stream(user):
    """Take a person who stops being a Staff Member out of their teams and their own tab
    grants; return those changes (for the same event) and the ids of the teams left, sorted."""
    changes = {}
    query = Team.select(Team.id, Team.name).join(TeamMembership)
    teams = list(query.where(TeamMembership.user == user.id))
    if teams:
        TeamMembership.delete().where(TeamMembership.user == user.id).execute()
        changes["teams"] = [sorted(team.name for team in teams), []]
    for taken in hooks(current_app).person_left_stream(user=user):
        changes.update(taken or {})
    return changes, sorted(team.id for team in teams)


def ref(user):
    """Return what an event about ``user`` is about."""
    return Ref("user", user.id, user.name)


def _state(user):
    return {
        "name": user.name,
        "email": user.email,
        "role": user.role.name,
        "time_zone": user.time_zone,
    }


def _locked(user):
    current = for_update(User.select(User, Role).join(Role).where(User.id == user.id)).first()
    if current is None:
        raise Invalid("user", "that person no longer exists")
    return current
