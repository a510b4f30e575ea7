"""The Settings tab: who sees which tab, by role, Staff Member and team; each role's scope.

Every control is a small real form that saves on change through htmx and swaps only itself;
without JavaScript the same form posts and the page reloads.
"""

from html.parser import HTMLParser

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup
from markupsafe import escape

from core.inputs import parse_id
from core.people import Role
from core.people import Team
from core.people import User
from core.people import sees_team_names
from core.plugins import hooks
from core.tabs import all_tabs
from core.tabs import get_tab
from plugins.settings import changes
from plugins.settings import preview
from plugins.settings.access import effective_access
from plugins.settings.access import forget_reads
from plugins.settings.grants import grants_by_kind
from plugins.settings.grants import role_scopes
from plugins.settings.grants import roles_seeing
from plugins.settings.models import SCOPES

bp = Blueprint("settings", __name__, template_folder="templates")
bp.add_url_rule("/preview", "preview", preview.preview, methods=["POST"])

KINDS = {"role": Role, "user": User, "team": Team}
# The event a role's or a team's grant answers with: the Staff Member list reloads itself.
ACCESS_CHANGED = "settings-access-changed"


def configurable_tabs():
    """Return the tabs that can be granted, in tab-bar order."""
    return [tab for tab in all_tabs() if tab.configurable]


def settings_panel(viewer):
    """Render the Settings panel (the same for every viewer allowed to see it)."""
    search = request.args.get("q", "").strip()
    roles = list(Role.select().order_by(Role.position))
    sections = plugin_sections(viewer)
    return render_template(
        "settings/panel.html",
        roles=roles,
        scopes=role_scopes(roles, configurable_tabs()),
        seeing=roles_seeing(configurable_tabs()),
        # Settings is for admins, who see team names; the rule is kept here all the same.
        teams=list(Team.select().order_by(Team.name)) if sees_team_names(viewer) else None,
        manage_teams_url=_manage_teams_url(viewer),
        choices=SCOPES,
        sections=sections,
        section_links=section_links(sections),
        **_people_context(viewer, search),
    )


class _FirstHeading(HTMLParser):
    """Finds a section's first ``<h2 id=…>`` and its text, for the panel's contents."""

    def __init__(self):
        super().__init__()
        self.id, self.text, self.inside, self.done = None, "", False, False

    def handle_starttag(self, tag, attrs):
        if tag == "h2" and not self.done:
            self.id, self.inside = dict(attrs).get("id"), True

    def handle_endtag(self, tag):
        if tag == "h2" and self.inside:
            self.inside, self.done = False, True

    def handle_data(self, data):
        if self.inside:
            self.text += data


def section_links(sections):
    """Return ``(anchor, heading)`` of each section whose first ``<h2>`` has an id, so the
    contents at the top of the panel lead to it (the page is long: a plugin's section is last)."""
    links = []
    for section in sections:
        parser = _FirstHeading()
        parser.feed(str(section))
        if parser.id and parser.text.strip():
            links.append((parser.id, " ".join(parser.text.split())))
    return links


def plugin_sections(viewer):
    """Return every plugin's Settings sections for ``viewer`` (its ``settings_sections``), in
    the order the hook answers. A section that is not ``Markup`` is shown as text, never as HTML."""
    found = []
    for batch in hooks(current_app).settings_sections(viewer=viewer):
        found.extend(
            section if isinstance(section, Markup) else escape(section) for section in batch or ()
        )
    return found


def _manage_teams_url(viewer):
    """Return the Manage Teams page when it exists and ``viewer`` may open it, else None."""
    if not viewer.is_admin or "people.teams.team_list" not in current_app.view_functions:
        return None
    return url_for("people.teams.team_list")


@bp.post("/grant")
def grant():
    """Grant or revoke one tab for one role, Staff Member or team; answer with the control."""
    tab = _configurable_tab(request.form.get("tab"))
    kind = request.form.get("kind")
    if kind not in KINDS:
        abort(400, "kind: must be role, user or team")
    target = _grantable(kind, request.form.get("id"))
    granted = request.form.getlist("granted")[-1:] == ["1"]
    changed = changes.set_grant(current_user, tab, kind, target, granted)
    forget_reads()  # what is shown next is read after the change
    if kind != "user":
        message = f"{target.name} {'now sees' if granted else 'no longer sees'} {tab.label}."
        if not changed:
            verb = "sees" if granted else "does not see"
            message = f"No change: {target.name} already {verb} {tab.label}."
        answer = make_response(
            _answer(
                "settings/toggle.html", message, tab=tab, kind=kind, target=target, granted=granted
            )
        )
        # The people listed may see the tab, or no longer, through this role or team: the
        # list asks for itself again (people_section.html listens).
        answer.headers["HX-Trigger"] = ACCESS_CHANGED
        return answer
    grants = grants_by_kind()  # read once: the answer's controls show the same grants
    access = effective_access(current_user, [target], [tab], grants)[(target.id, tab.name)]
    return _answer(
        "settings/toggle.html",
        personal_message(target, tab, granted, changed, access),
        tab=tab,
        kind=kind,
        target=target,
        granted=granted,
        access=access,
        grants=grants,
    )


def personal_message(person, tab, granted, changed, access):
    """Return what a change of ``person``'s personal grant of ``tab`` did, as it is in effect:
    "Dana Scully now sees Email.", or, when a role or team gives it too, "Avery Chen now holds
    Email in person (also seen via role Admin)." (``access``: after the change)."""
    if not changed:
        held = "already holds" if granted else "does not hold"
        return f"No change: {person.name} {held} {tab.label} in person."
    if granted:
        if access.via and access.sees:
            return f"{person.name} now holds {tab.label} in person (also seen {access.via})."
        if not access.sees:
            return f"{person.name} now holds {tab.label} in person, but another rule refuses it."
        return f"{person.name} now sees {tab.label}."
    if access.sees:
        return f"{person.name} no longer holds {tab.label} in person; still sees it {access.via}."
    return f"{person.name} no longer sees {tab.label}."


@bp.post("/scope")
def scope():
    """Set how much of a tab a role sees (``all`` or ``related``); answer with the control."""
    tab = _configurable_tab(request.form.get("tab"))
    role = _grantable("role", request.form.get("id"))
    value = request.form.get("scope")
    if value not in SCOPES:
        abort(400, "scope: must be all or related")
    changes.set_scope(current_user, tab, role, value)
    label = "every row" if value == "all" else "only what relates to them"
    return _answer(
        "settings/scope.html",
        f"{role.name} now sees {label} on {tab.label}.",
        tab=tab,
        role=role,
        scope=value,
        choices=SCOPES,
    )


@bp.post("/people")
def people():
    """Grant a tab to every Staff Member ("Select All") or clear the individual grants."""
    tab = _configurable_tab(request.form.get("tab"))
    action = request.form.get("action")
    undo = None
    if action == "select-all":
        count = len(changes.grant_all_staff(current_user, tab))
        message = f"{tab.label} granted to {count} more Staff Member(s)."
    elif action == "clear":
        cleared = changes.clear_people(current_user, tab)
        message = f"{tab.label} revoked from {len(cleared)} Staff Member(s)."
        undo = {"tab": tab, "ids": cleared} if cleared else None
    elif action == "restore":
        ids = [parse_id(value, "user") for value in request.form.getlist("user")]
        count = len(changes.restore_people(current_user, tab, ids))
        message = f"{tab.label} granted again to {count} Staff Member(s)."
    else:
        abort(400, "action: must be select-all, clear or restore")
    if not request.htmx:
        flash(message)
        return redirect(url_for("stream.tab", tab="settings"))
    forget_reads()  # what is shown next is read after the change
    return _answer(
        "settings/people_section.html", message, undo=undo, **_people_context(current_user, "")
    )


@bp.get("/people")
def people_list():
    """Return the Staff Member grants, filtered by name or email (the search box)."""
    search = request.args.get("q", "").strip()
    if not request.htmx:
        return redirect(url_for("stream.tab", tab="settings", q=search or None))
    return render_template("settings/people_section.html", **_people_context(current_user, search))


def _people_context(viewer, search):
    """Return what the Staff Member list shows to ``viewer``: the people ``search`` finds, their
    personal grants and their access in effect."""
    tabs = configurable_tabs()
    people = _people(search)
    grants = grants_by_kind()
    return {
        "tabs": tabs,
        "people": people,
        "search": search,
        "grants": grants,
        "access": effective_access(viewer, people, tabs, grants),
        "access_changed": ACCESS_CHANGED,
    }


def _people(search):
    people = changes.grantable_people()
    if search:
        needle = search.lower()
        people = [user for user in people if needle in user.name.lower() or needle in user.email]
    return people


def _answer(template, message, undo=None, **context):
    """Answer a control's change: the control and a status message (with an Undo form when
    ``undo`` says what to give back) for htmx, else a redirect."""
    if not request.htmx:
        flash(message)
        return redirect(url_for("stream.tab", tab="settings"))
    context.setdefault("grants", grants_by_kind())
    html = render_template(template, **context)
    status = render_template("settings/status.html", message=message, undo=undo)
    return Markup(html) + Markup(status) + Markup(_scope_controls(context))


def _scope_controls(context):
    """Return the role scope controls of the changed tab, out of band: a grant may have made a
    role able, or unable, to see it (a role nobody in it can see has its control disabled)."""
    tab = context.get("tab")
    if tab is None:
        return ""
    roles = [
        role
        for role in Role.select().order_by(Role.position)
        if role.is_staff and role.kind != "owner"
    ]
    scopes = role_scopes(roles, [tab])
    seeing = roles_seeing([tab])
    return "".join(
        render_template(
            "settings/scope.html",
            tab=tab,
            role=role,
            oob=True,
            scope=scopes[(role.id, tab.name)],
            choices=SCOPES,
            seen=(role.id, tab.name) in seeing,
        )
        for role in roles
    )


def _configurable_tab(name):
    tab = get_tab(name or "")
    if tab is None or not tab.configurable:
        abort(400, f"tab: {name!r} is not a tab that can be granted")
    return tab


def _grantable(kind, raw_id):
    """Return the role, Staff Member or team that may hold a grant; 400 naming why not."""
    target = KINDS[kind].get_or_none(KINDS[kind].id == parse_id(raw_id, "id"))
    if target is None:
        abort(400, f"id: there is no {kind} {raw_id}")
    role = target if kind == "role" else (target.role if kind == "user" else None)
    if role is not None and role.kind == "owner":
        abort(400, "The Super Admin always sees every tab; that cannot change.")
    if role is not None and not role.is_staff:
        abort(400, "Contacts and Freelancers never reach the Activity Stream.")
    return target
