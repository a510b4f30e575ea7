"""Manage Teams: list, create, edit, delete teams, and add or remove members inline."""

import peewee
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup

from core.people import STAFF_KINDS
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.people import teams
from plugins.people.checks import Invalid
from plugins.people.pages import actor
from plugins.people.pages import found_or_404
from plugins.people.pages import render_form

bp = Blueprint("teams", __name__, url_prefix="/teams")


@bp.get("")
def team_list():
    """List the teams with their members, and the form creating one."""
    return _list_page()


@bp.post("")
def create():
    """Create a team from the form; show the form again, with the message, when refused."""
    try:
        team = teams.create_team(actor(), *_posted())
    except Invalid as error:
        return _list_page(error)
    flash(f"Team “{team.name}” created. Add its members below.")
    return redirect(url_for("people.teams.team", team_id=team.id))


@bp.get("/<int:team_id>")
def team(team_id):
    """Show a team: its fields to edit, and every Staff Member with a box saying whether they
    are in it."""
    return _team_page(found_or_404(Team, team_id, "team"))


@bp.post("/<int:team_id>")
def update(team_id):
    """Save a team's name, description and color."""
    found = found_or_404(Team, team_id, "team")
    try:
        event = teams.update_team(actor(), found, *_posted())
    except Invalid as error:
        return _team_page(found, error)
    flash(f"Team “{found.name}” saved." if event else "Nothing changed.")
    return redirect(url_for("people.teams.team", team_id=found.id))


@bp.post("/<int:team_id>/members")
def member(team_id):
    """Add one Staff Member to the team or take them out; answer with the checkbox and a
    status line (htmx), else go back to the team's page."""
    found = found_or_404(Team, team_id, "team")
    person = found_or_404(User, request.form.get("user"), "user")
    wanted = request.form.getlist("member")[-1:] == ["1"]
    changed = teams.set_member(actor(), found, person, wanted)
    if changed:
        message = f"{person.name} {'joined' if wanted else 'left'} {found.name}."
    else:
        already = "is already" if wanted else "is not"
        message = f"No change: {person.name} {already} in {found.name}."
    if not request.htmx:
        flash(message)
        return redirect(url_for("people.teams.team", team_id=found.id))
    html = render_template("people/member_toggle.html", team=found, person=person, member=wanted)
    status = render_template("people/status.html", message=message)
    count = render_template("people/member_count.html", team=found, count=_count(found), oob=True)
    return Markup(html) + Markup(status) + Markup(count)


@bp.route("/<int:team_id>/delete", methods=["GET", "POST"])
def delete(team_id):
    """Say who loses which tabs with the team, then delete it (no person is deleted)."""
    found = found_or_404(Team, team_id, "team")
    if request.method == "POST":
        teams.delete_team(actor(), found)
        flash(f"Team “{found.name}” deleted. Its members keep their accounts.")
        return redirect(url_for("people.teams.team_list"))
    return render_template(
        "people/team_delete.html",
        team=found,
        members=list(teams.members_of(found)),
        losses=teams.grants_lost(found),
        granted=teams.granted_tabs(found),
    )


def _posted():
    form = request.form
    return form.get("name", ""), form.get("description", ""), form.get("color", "")


def _list_page(error=None):
    counts = {
        row.team_id: row.count
        for row in TeamMembership.select(
            TeamMembership.team, peewee.fn.COUNT(TeamMembership.id).alias("count")
        ).group_by(TeamMembership.team)
    }
    values = _form_values() if request.method == "POST" else {"color": teams.DEFAULT_COLOR}
    return render_form(
        "people/teams.html",
        error=error,
        teams=list(Team.select().order_by(Team.name)),
        counts=counts,
        values=values,
    )


def _team_page(found, error=None):
    members = {user.id for user in teams.members_of(found)}
    return render_form(
        "people/team.html",
        error=error,
        team=found,
        values=_form_values() if request.method == "POST" else found.__data__,
        staff=_staff(members),
        members=members,
        count=len(members),
    )


def _form_values():
    """Return the team fields as posted (a refused form shows them again)."""
    return {name: request.form.get(name, "") for name in teams.FIELDS}


def _staff(members):
    """Return the Staff Members who may be in a team (active ones), and any inactive member
    still in it (so they can be taken out), by name."""
    query = User.select(User, Role).join(Role).where(Role.kind.in_(STAFF_KINDS)).order_by(User.name)
    return [user for user in query if user.active or user.id in members]


def _count(found):
    return TeamMembership.select().where(TeamMembership.team == found.id).count()
