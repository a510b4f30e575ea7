"""Preview as…: the tab bar and first rows exactly as another viewer would see them.

The page is rendered with flask-login's current user swapped for the previewed viewer, so every
tab's own visibility and scope code runs unchanged; the result is read-only (``inert``).
"""

from contextlib import contextmanager

from flask import abort
from flask import g
from flask import render_template
from flask import request
from flask_login import current_user
from markupsafe import Markup

from core.inputs import parse_id
from core.people import Role
from core.people import User
from core.tabs import visible_tabs
from plugins.activity import Ref
from plugins.activity import record_activity
from plugins.settings.views import bp

PER_REQUEST_CACHES = ("visible_tabs", "granted_tabs", "row_scopes")


@bp.post("/preview")
def preview():
    """Show what a role's member (with no personal or team grant) or a Staff Member sees.

    A POST (CSRF-checked), because looking is itself recorded on the Activity tab.
    """
    viewer, subject = _previewed(request.form.get("role"), request.form.get("user"))
    admin = current_user._get_current_object()
    record_activity(admin, "settings.previewed", subject)
    with viewing_as(viewer):
        tabs = visible_tabs(viewer)
        panel = Markup(tabs[0].panel()) if tabs else None
    html = render_template(
        "settings/preview.html", viewer=viewer, subject=subject, tabs=tabs, panel=panel
    )
    if request.htmx:
        return html
    return render_template("stream.html", current_tab=g.stream_tab, panel=Markup(html))


@contextmanager
def viewing_as(viewer):
    """Render as ``viewer``: swap flask-login's user and the per-request caches, then restore."""
    saved_user = g.get("_login_user")
    saved = {name: g.pop(name, None) for name in PER_REQUEST_CACHES}
    g._login_user = viewer
    try:
        yield
    finally:
        g._login_user = saved_user
        for name, value in saved.items():
            g.pop(name, None)
            if value is not None:
                setattr(g, name, value)


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
