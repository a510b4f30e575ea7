"""The stream shell: the gate in front of every ``/stream`` URL, the tab bar and the flyout."""

from dataclasses import dataclass

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core.plugins import hooks
from core.tabs import get_tab
from core.tabs import tab_for_blueprint as own_tab_of
from core.tabs import visible_tabs

bp = Blueprint("stream", __name__)


@dataclass(frozen=True)
class Link:
    """A link in the Flyout Menu."""

    label: str
    url: str
    order: int = 100


def is_stream_request():
    """Tell whether the current request is for a ``/stream`` URL (page, fragment or export)."""
    return request.path == "/stream" or request.path.startswith("/stream/")


def guard_stream():
    """Decide, before any plugin code runs, whether the viewer may reach this stream URL.

    Signed-out viewers are sent to sign in; Contacts and Freelancers get 403 on every stream
    URL, existing or not; unknown tabs are 404; a tab the viewer may not see is 403.
    """
    if not is_stream_request():
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_staff:
        abort(403, "The Activity Stream is for Staff Members only.")
    if request.endpoint == "stream.index":
        return None
    name = (request.view_args or {}).get("tab")
    tab = get_tab(name) if name else tab_for_blueprint(request.blueprint)
    if tab is None:
        abort(404, "There is no such page in the Activity Stream.")
    if tab not in visible_tabs(current_user):
        abort(403, f"You do not have access to the {tab.label} tab.")
    g.stream_tab = tab
    return None


def section_answer(render, state_key, status=200, **state):
    """Answer an action of one section of the current tab (a Settings section, say): to htmx
    the section alone, ``render(**state)``; without JavaScript the whole tab page, which draws
    the section again from ``state``, kept on ``g`` under ``state_key`` for it to read."""
    if request.htmx:
        return render(**state), status
    g.setdefault(state_key, {}).update(state)
    return page_or_fragment(g.stream_tab.panel(current_user._get_current_object())), status


def tab_for_blueprint(blueprint_name):
    """Return the tab whose gate covers ``blueprint_name``: the tab owning it, else the tab
    its plugin declared it part of (``register_blueprints``' ``part_of_tab``; None when that
    tab is not installed), else None. Deny by default: a blueprint under /stream that no tab
    owns and none was declared part of answers 404."""
    tab = own_tab_of(blueprint_name)
    part_of = current_app.extensions.get("blueprint_tabs", {}).get(blueprint_name)
    if tab is None and part_of is not None:
        tab = get_tab(part_of)
    return tab


def flyout_links(viewer):
    """Return the Flyout Menu links for ``viewer``, core's and every plugin's, in order."""
    links = []
    if visible_tabs(viewer):
        links.append(Link("Activity Stream", url_for("stream.index"), order=10))
    for batch in hooks(current_app).flyout_links(viewer=viewer):
        links.extend(batch or ())
    return sorted(links, key=lambda link: (link.order, link.label))


@bp.get("/stream")
def index():
    """Send the viewer to the first tab they may see."""
    tabs = visible_tabs(current_user)
    if not tabs:
        abort(403, "No Activity Stream tab is shared with you.")
    return redirect(url_for("stream.tab", tab=tabs[0].name))


@bp.get("/stream/<tab>")
def tab(tab):
    """Render a tab: the panel alone (with the tab bar out of band) for htmx, else the page."""
    return page_or_fragment(g.stream_tab.panel(current_user), whole_panel=True)


def page_or_fragment(html, whole_panel=False):
    """Answer ``html``, part of the current tab's panel: to htmx as it is (``whole_panel``: as
    the new panel, with the title and the tab bar out of band), else inside the whole page.

    The one place deciding between a fragment and a page, so every URL htmx loads also opens
    directly (deep link, reload, a new tab).
    """
    if not request.htmx:
        page = render_template("stream.html", current_tab=g.stream_tab, panel=Markup(html))
    elif whole_panel:
        page = render_template("stream_panel.html", current_tab=g.stream_tab, panel=Markup(html))
    else:
        page = html
    if g.get("feed_refusal"):  # a filter was refused: say so (400), and push no URL
        return page, 400, {"HX-Push-Url": "false"}
    return page
