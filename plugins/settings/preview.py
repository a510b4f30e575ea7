"""Preview as…: the tab bar and first rows exactly as another viewer would see them.

Tabs render their panel for an explicit viewer, so the previewed viewer's own visibility and
scope decide what shows; the result is read-only (``inert``).
"""

from flask import abort
from flask import render_template
from flask import request
from flask_login import current_user
from markupsafe import Markup

from core.events import Ref
from core.events.reads import record_access
from core.inputs import parse_id
from core.people import Role
from core.people import User
from core.shell import page_or_fragment
from core.tabs import visible_tabs


def preview():
    """Show what a role's member (with no personal or team grant) or a Staff Member sees.

    A POST (CSRF-checked), because looking is itself recorded on the Activity tab (an access
    event: seen by the Super Admin and Admins only).
    """
    if not request.form.get("role") and not request.form.get("user"):
        html = render_template("settings/preview_choose.html")
        return page_or_fragment(html), 400
    viewer, subject = _previewed(request.form.get("role"), request.form.get("user"))
    admin = current_user._get_current_object()
    record_access(admin, "settings.previewed", subject, once_within=None)
    tabs = visible_tabs(viewer)
    # The panel is rendered for the previewed viewer: its rows are phrased for them too.
    panel = Markup(tabs[0].panel(viewer)) if tabs else None
    html = render_template(
        "settings/preview.html", viewer=viewer, subject=subject, tabs=tabs, panel=panel
    )
    return page_or_fragment(html)


def _previewed(role_id, user_id):
    if user_id:
        user = _get(User, user_id, "user")
        if not user.is_staff:
            abort(400, "user: Contacts and Freelancers never reach the Activity Stream.")
        return user, Ref("user", user.id, user.name)
    if role_id:
        role = _get(Role, role_id, "role")
        if not role.is_staff:
            abort(400, "role: Contacts and Freelancers never reach the Activity Stream.")
        member = User(name=f"A {role.name}", role=role, time_zone=current_user.time_zone)
        member.id = 0  # no personal or team grant, relates to nothing by name
        return member, Ref("role", role.id, role.name)
    abort(400, "role or user: choose whom to preview as")


def _get(model, raw_id, name):
    found = model.get_or_none(model.id == parse_id(raw_id, name))
    if found is None:
        abort(400, f"{name}: there is no {name} {raw_id}")
    return found
