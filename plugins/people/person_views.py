"""Manage People: list, invite or create, edit (role, time zone…), deactivate, reactivate,
send a one-time password link, and export everything about a person."""

import logging

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from core.db import utcnow
from core.events import Ref
from core.events.reads import record_access
from core.listing.export import recorded_download
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.people import time_zone_names
from core.plugins import hooks
from plugins.people import accounts
from plugins.people import person_data
from plugins.people import pseudonyms
from plugins.people.checks import Invalid
from plugins.people.pages import actor
from plugins.people.pages import found_or_404
from plugins.people.pages import render_form

log = logging.getLogger(__name__)

bp = Blueprint("persons", __name__, url_prefix="/people")

FIELDS = ("name", "email", "role", "time_zone")
# Lines per chunk of the bundle handed to the server: one write per batch, not per line.
CHUNK_LINES = person_data.BATCH


@bp.get("")
def people_list():
    """List everyone (Staff Members, Freelancers, Contacts), with the form adding a person."""
    return _list_page()


@bp.post("")
def create():
    """Create a person and show the invitation link (or say it was mailed)."""
    try:
        sent = accounts.create_person(actor(), *_posted())
    except Invalid as error:
        return _list_page(error)
    if sent.mailed or not sent.url:
        how = (
            "An invitation to choose a password was emailed."
            if sent.mailed
            else (f"A {sent.user.role.name} may not sign in, so no invitation was made.")
        )
        flash(f"{sent.user.name} added. {how}")
        return redirect(url_for("people.persons.person", user_id=sent.user.id))
    return render_template("people/link.html", sent=sent, purpose="invitation")


@bp.get("/<int:user_id>")
def person(user_id):
    """Show one person: their account to edit, their teams, and what can be done to it."""
    return _person_page(found_or_404(User, user_id, "person"))


@bp.post("/<int:user_id>")
def update(user_id):
    """Save a person's name, email, role and time zone."""
    found = found_or_404(User, user_id, "person")
    try:
        event = accounts.update_person(actor(), found, *_posted())
    except Invalid as error:
        return _person_page(found, error, posted=True)
    flash(f"{found.name} saved." if event else "Nothing changed.")
    return redirect(url_for("people.persons.person", user_id=found.id))


@bp.post("/<int:user_id>/deactivate")
def deactivate(user_id):
    """Deactivate a person: their sessions end at once and they cannot sign in."""
    return _set_active(user_id, False)


@bp.post("/<int:user_id>/reactivate")
def reactivate(user_id):
    """Let a deactivated person sign in again."""
    return _set_active(user_id, True)


@bp.post("/<int:user_id>/password-link")
def password_link(user_id):
    """Issue a one-time link to choose a new password: mailed, or shown here."""
    found = found_or_404(User, user_id, "person")
    try:
        sent = accounts.send_password_link(actor(), found)
    except Invalid as error:
        return _person_page(found, error)
    if sent.mailed:
        flash(f"A one-time link to choose a new password was emailed to {found.email}.")
        return redirect(url_for("people.persons.person", user_id=found.id))
    return render_template("people/link.html", sent=sent, purpose="password reset link")


@bp.post("/<int:user_id>/pseudonymise")
def pseudonymise(user_id):
    """Replace a person's name, email, addresses and user agents by a pseudonym in every record,
    and deactivate them for good; the form's ``confirm`` box must be ticked."""
    found = found_or_404(User, user_id, "person")
    if request.form.get("confirm") != "yes":
        error = Invalid("confirm", "tick the box to confirm: this cannot be undone")
        return _person_page(found, error)
    name = found.name
    try:
        changed = pseudonyms.pseudonymise(actor(), found)
    except Invalid as error:
        return _person_page(found, error)
    flash(f"{name} is now {found.name}: {changed:,} records rewritten, the account deactivated.")
    return redirect(url_for("people.persons.person", user_id=found.id), code=303)


@bp.post("/<int:user_id>/export")
def export(user_id):
    """Answer everything about a person as one JSON Lines file, streamed; recorded when it
    ends (a POST: the file leaves the platform by a deliberate, recorded act)."""
    found = found_or_404(User, user_id, "person")
    exporter = actor()
    lines = person_data.bundle_lines(found, exporter)
    first = next(lines)  # read now: a failing query is an error page, not a cut file
    count = [0]
    return recorded_download(
        _chunks(_chained(first, lines), count),
        "application/x-ndjson",
        f"person-{found.id}-{utcnow():%Y%m%d}.jsonl",
        lambda outcome: record_export(exporter, found, count[0], outcome),
    )


def _chained(first, rest):
    yield first
    yield from rest


def _chunks(lines, count):
    """Yield ``lines`` joined ``CHUNK_LINES`` at a time, encoded; ``count[0]``: lines handed on."""
    buffer = []
    for line in lines:
        buffer.append(line)
        if len(buffer) == CHUNK_LINES:
            count[0] += len(buffer)
            yield "".join(buffer).encode("utf-8")
            buffer = []
    if buffer:
        count[0] += len(buffer)
        yield "".join(buffer).encode("utf-8")


def record_export(exporter, person, lines, outcome="complete"):
    """Record that ``exporter`` exported ``lines`` lines of everything about ``person``: an
    access event (seen by the Super Admin and Admins only), every time."""
    summary = f"{lines:,} line{'' if lines == 1 else 's'} of their data as JSON Lines"
    if outcome != "complete":
        summary += f" ({outcome})"
    record_access(
        exporter,
        "person.exported",
        Ref("user", person.id, person.name),
        changes={"lines": [None, lines], "outcome": [None, outcome]},
        summary=summary,
        once_within=None,  # each export is a file leaving the platform
    )


def _set_active(user_id, active):
    found = found_or_404(User, user_id, "person")
    try:
        event = accounts.set_active(actor(), found, active)
    except Invalid as error:
        return _person_page(found, error)
    if event is None:
        flash(f"No change: {found.name} is already {'active' if active else 'deactivated'}.")
    elif active:
        flash(f"{found.name} may sign in again.")
    else:
        flash(f"{found.name} is deactivated: their sessions have ended and they cannot sign in.")
    return redirect(url_for("people.persons.person", user_id=found.id))


def _posted():
    return tuple(request.form.get(name, "") for name in FIELDS)


def _choices():
    return {
        "roles": list(Role.select().order_by(Role.position)),
        "zones": sorted(time_zone_names()),
    }


def _list_page(error=None):
    search = request.args.get("q", "").strip()[:120]
    query = User.select(User, Role).join(Role).order_by(Role.position, User.name)
    if search:
        needle = f"%{search.lower()}%"
        query = query.where(User.name.ilike(needle) | User.email.ilike(needle))
    values = (
        {name: request.form.get(name, "") for name in FIELDS}
        if request.method == "POST"
        else {"name": "", "email": "", "role": "", "time_zone": "UTC"}
    )
    return render_form(
        "people/people.html",
        error=error,
        people=list(query),
        search=search,
        values=values,
        **_choices(),
    )


def _person_page(found, error=None, posted=False):
    """Render a person's page; ``posted``: show the edit form as it was posted (refused)."""
    if posted:
        values = {name: request.form.get(name, "") for name in FIELDS}
    else:
        values = {
            "name": found.name,
            "email": found.email,
            "role": str(found.role_id),
            "time_zone": found.time_zone,
        }
    member_of = list(
        Team.select()
        .join(TeamMembership)
        .where(TeamMembership.user == found.id)
        .order_by(Team.name)
    )
    return render_form(
        "people/person.html",
        error=error,
        person=found,
        values=values,
        teams=member_of,
        # What plugins say about this person (a suppressed address…), each its own card.
        sections=[
            section
            for section in hooks(current_app).person_sections(viewer=current_user, person=found)
            if section
        ],
        **_choices(),
    )
