"""The follow control beside each saved search, and the Alerts section of Settings.

- ``POST /stream/<tab>/searches/<id>/follow`` (``mode``: off, instant, daily, weekly): follow
  one of the signed-in person's saved searches of that tab. Under ``/stream/<tab>``, so the
  stream gate checks the tab is visible to them (it reads ``tab`` from the URL); a saved
  search that is not theirs or not of that tab is a 404, a bad mode a 400 naming ``mode``.
  htmx gets the control again; without JavaScript, the tab (303).
- ``POST /stream/settings/alerts/builtins`` (``key``, ``enabled``: 1 or 0): switch one
  built-in alert on or off for the signed-in owner or admin; gated as Settings.
"""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user
from markupsafe import Markup

from core.inputs import MAX_ID
from core.listing.saved import SavedSearch
from core.shell import section_answer
from core.tabs import get_tab
from plugins.alerts import rules
from plugins.alerts.builtins import BUILTINS
from plugins.alerts.builtins import BY_KEY
from plugins.alerts.models import MODE_LABELS
from plugins.alerts.models import MODES
from plugins.alerts.models import OFF

follow_bp = Blueprint(
    "alerts_follow", __name__, url_prefix="/stream/<tab>/searches", template_folder="templates"
)
settings_bp = Blueprint("alerts", __name__, url_prefix="/stream/settings/alerts")
STATE = "alerts_state"  # what an action just did, for the section drawn after it
MISSING = "There is no such saved search."


def mode_of(saved):
    """Return the signed-in person's follow mode of ``saved`` ("off" when not followed); the
    follows are read once per request (the list has up to 30 saved searches)."""
    if not getattr(current_user, "is_authenticated", False):
        return OFF
    modes = g.get("alert_modes")
    if modes is None:
        modes = g.alert_modes = rules.modes_of(current_user.id)
    return modes.get(saved.id, OFF)


def template_globals():
    """Return what ``alerts/follow.html`` reads besides ``saved`` and ``feed``: it is
    included by core's saved-search list, which knows nothing of alerts."""
    return {"alert_mode_choices": [(m, MODE_LABELS[m]) for m in MODES], "alert_mode": mode_of}


@follow_bp.post("/<int:search_id>/follow")
def follow(tab, search_id):
    """Follow (or stop following) one of the signed-in person's saved searches of ``tab``."""
    found = get_tab(tab)
    feed = found.feed if found is not None else None
    if not 0 < search_id < MAX_ID:  # beyond what the database's integers hold
        abort(404, MISSING)
    saved = SavedSearch.get_or_none(
        (SavedSearch.id == search_id)
        & (SavedSearch.user_id == current_user.id)
        & (SavedSearch.tab == tab)
    )
    if feed is None or saved is None:
        abort(404, MISSING)
    mode = request.form.get("mode", "")
    if mode not in MODES:
        abort(400, f"mode: expected one of {', '.join(MODES)}, got {mode[:20]!r}")
    rules.set_follow(current_user._get_current_object(), saved, mode)
    if not request.htmx:
        return redirect(feed.url(), code=303)
    g.pop("alert_modes", None)
    message = "Not followed." if mode == OFF else f"Following: {MODE_LABELS[mode].lower()}."
    return render_template("alerts/follow.html", saved=saved, feed=feed, follow_message=message)


def sections(viewer):
    """Return the Alerts section for ``viewer`` as a list: empty unless owner or admin."""
    if not viewer.is_admin:
        return []
    return [render(viewer, **g.get(STATE, {}))]


def render(viewer=None, message=None):
    """Render the section: each built-in with its switch, and the viewer's followed searches."""
    viewer = viewer or current_user._get_current_object()
    enabled = rules.builtin_enabled(viewer.id)
    follows = []
    for rule, saved in rules.follows_of(viewer.id):
        tab = get_tab(rule.tab)
        feed = tab.feed if tab is not None else None
        follows.append(
            {
                "name": saved.name,
                "tab": tab.label if tab else rule.tab,
                "mode": MODE_LABELS[rule.mode],
                "url": feed.url([("q", saved.query)]) if feed else None,
            }
        )
    html = render_template(
        "alerts/section.html",
        builtins=[(builtin, enabled[builtin.key]) for builtin in BUILTINS],
        follows=follows,
        message=message,
    )
    return Markup(html)


@settings_bp.post("/builtins")
def switch_builtin():
    """Switch one built-in alert on or off for the signed-in owner or admin."""
    if not current_user.is_admin:
        abort(403, "Built-in alerts are for the owner and admins.")
    key = request.form.get("key", "")
    if key not in BY_KEY:
        return section_answer(_render, STATE, 400, message=f"key: no built-in alert {key[:40]!r}")
    raw = request.form.get("enabled", "")
    if raw not in ("0", "1"):
        return section_answer(_render, STATE, 400, message="enabled: expected 1 (on) or 0 (off)")
    rules.set_builtin(current_user._get_current_object(), key, raw == "1")
    state = "on" if raw == "1" else "off"
    return section_answer(_render, STATE, message=f"“{BY_KEY[key].label}” is {state}.")


def _render(message=None):
    return render(current_user._get_current_object(), message=message)
