"""People and Teams: Manage Teams and Manage People, in the Flyout Menu of the owner and admins.

``models`` holds its tables (one-time links, retired team ids); ``teams`` and ``accounts``
are the only write paths, each change recorded in its transaction; ``links`` issues and
checks one-time password links; ``restoring`` restores a team or a person's change from its
record (``restore_plan``, ``restore``); ``views`` (the ``/people`` blueprint, closed to all but the
owner and admin kinds), ``team_views``, ``person_views`` and ``link_views`` serve the pages.
"""

from flask import url_for
from markupsafe import Markup
from markupsafe import escape

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from core.people import team_label
from core.shell import Link
from core.templating import actor_markup
from plugins.people import links
from plugins.people.models import MODELS
from plugins.people.models import RESET

# What people read for each verb: "Avery Chen changed the role of Dana Scully".
PHRASES = {
    "team.created": "created team",
    "team.updated": "edited team",
    "team.deleted": "deleted team",
    "team.restored": "restored team",
    "user.created": "added",
    "user.updated": "edited the account of",
    "user.deactivated": "deactivated",
    "user.reactivated": "reactivated",
    "user.restored": "restored the account of",
    "user.password_link": "sent a one-time password link to",
    "user.reported_suspicious_activity": "reported activity that was not them on the account of",
}


@hookimpl
def register_models():
    """Return the one-time links and retired team ids."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Create the tables of one-time links and retired team ids."""
    return [Migration("people.0001_links_and_retired_teams", create_tables(*MODELS))]


@hookimpl
def register_blueprints(app):
    """Return Manage Teams (``/teams``) and Manage People (``/people``), and the password
    links (``/password``); each blueprint carries its own prefix."""
    from plugins.people import link_views
    from plugins.people.views import bp

    return [bp, link_views.bp]


@hookimpl
def issue_reset_link(user):
    """Issue ``user`` a reset link (``links``) when mail is set up; return its URL and how
    long it is valid for."""
    if not links.mail_is_configured():
        return None
    return links.url_of(links.issue(user, user, RESET)), links.VALID_FOR[RESET]


@hookimpl
def flyout_links(viewer):
    """Link Manage Teams and Manage People for the Super Admin and Admins."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_admin:
        return []
    return [
        Link("Manage Teams", url_for("people.teams.team_list"), order=60),
        Link("Manage People", url_for("people.persons.people_list"), order=61),
    ]


@hookimpl
def describe_event(event, viewer):
    """Phrase the team and people events; a team's name only if ``viewer`` (whom the rows are
    for, not always the signed-in person) may see it."""
    phrase = PHRASES.get(event.verb)
    if phrase is None:
        return None
    label = event.object_label
    if event.object_type == "team":
        label = team_label(viewer, label)
    return actor_markup(event) + Markup(f" {escape(phrase)} “{escape(label)}”")


@hookimpl
def restore_plan(event):
    """Say what restoring a team's deletion or change, or a person's change, would bring
    back (``restoring``), or refuse it."""
    from plugins.people import restoring

    return restoring.restore_plan(event)


@hookimpl
def restore(event, actor):
    """Restore a team's deletion or change, or a person's change (``restoring``)."""
    from plugins.people import restoring

    return restoring.restore(event, actor)
