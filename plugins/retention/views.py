"""The Retention section of Settings and its one action: keep a tab's records forever or for
a number of days.

The blueprint sits under ``/stream/settings/retention`` and ``core.shell`` gates it as the
Settings tab (declared ``part_of_tab``): signed-out viewers are sent to sign in, anyone who does not
see Settings (all but the owner and admins) gets 403, before these views run. A save answers
htmx with the section (and the status line out of band), a browser without JavaScript with a
redirect to Settings, or, refused, the whole Settings page showing why (400).
"""

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core import retention
from core.listing.feed import counted
from core.shell import section_answer
from core.tabs import Tab
from core.tabs import all_tabs
from core.tabs import get_tab

bp = Blueprint(
    "retention", __name__, url_prefix="/stream/settings/retention", template_folder="templates"
)

# What the section shows of a save just refused or made; the page fallback (no JavaScript)
# renders the whole Settings panel, so the state travels on ``g``.
STATE = "retention_state"


@dataclass(frozen=True)
class TabRetention:
    """One list tab as the section lists it: whether it can be pruned, the days chosen (None:
    forever), the days kept (never fewer than the minimum), and the next prune's cut-off and
    count of records it would remove now (None when kept forever)."""

    tab: Tab
    prunable: bool
    chosen: int | None
    kept: int | None
    cut_off: datetime | None
    count: int | None


def tab_rows():
    """Return every list tab's retention, in tab-bar order: one count query per tab that
    keeps its records for some days, stopping at ``retention.COUNT_CAP``."""
    chosen = retention.policies()
    rows = []
    for tab in all_tabs():
        if tab.feed is None:
            continue
        prunable = retention.prune_of(tab.feed) is not None
        days = chosen.get(tab.name) if prunable else None
        kept = retention.kept_days(days)
        cut_off = retention.cut_off_of(kept) if kept else None
        count = retention.count_prunable(tab.feed, kept) if kept else None
        rows.append(TabRetention(tab, prunable, days, kept, cut_off, count))
    return rows


def sections(viewer):
    """Return the section's HTML for ``viewer``, as a list: empty unless ``viewer`` is the
    owner or an admin (Settings' viewers)."""
    if not viewer.is_admin:
        return []
    return [render(**g.get(STATE, {}))]


def render(errors=None, form=None, message=None):
    """Render the section: each list tab's retention and form (``errors``: ``{tab: {field:
    message}}`` of a refused save, ``form``: ``{tab: values posted}``), and ``message`` for
    the status line (out of band, for htmx answers)."""
    html = render_template(
        "retention/settings_section.html",
        rows=tab_rows(),
        minimum=retention.min_days(),
        maximum=retention.MAX_DAYS,
        errors=errors or {},
        form=form or {},
        message=message,
        counted=counted,
        cap=retention.COUNT_CAP,
        describe_days=retention.describe_days,
    )
    return Markup(html)


@bp.get("/<tab_name>")
def settings(tab_name):
    """Send the viewer to the section, in Settings (the address bar after a form posted
    without JavaScript shows this URL)."""
    return redirect(url_for("stream.tab", tab="settings", _anchor="retention"), 303)


@bp.post("/<tab_name>")
def save(tab_name):
    """Keep ``tab_name``'s records as the form says: ``keep=forever``, or ``keep=days`` and
    ``days`` (a whole number, at least the minimum). A refusal names its field (400)."""
    tab = get_tab(tab_name)
    if tab is None or tab.feed is None:
        abort(404, "There is no such list tab.")
    if retention.prune_of(tab.feed) is None:
        errors = {"tab": f"the {tab.label} tab does not say how its records are pruned"}
    else:
        days, errors = read_form(request.form, retention.min_days())
    if errors:
        return section_answer(
            render, STATE, 400, errors={tab.name: errors}, form={tab.name: request.form}
        )
    viewer = current_user._get_current_object()
    changed = retention.set_policy(viewer, tab, days)
    kept = retention.describe_days(days)
    message = (
        f"The {tab.label} tab keeps its records {kept}."
        if changed
        else f"The {tab.label} tab already keeps its records {kept}."
    )
    if not request.htmx:
        flash(message)
        return redirect(url_for("stream.tab", tab="settings", _anchor="retention"), 303)
    return render(message=message)


def read_form(form, minimum):
    """Return ``(days, {})`` from the posted form (``days`` None: forever), or ``(None,
    errors)`` with ``errors`` naming each field refused (``keep``, ``days``)."""
    keep = form.get("keep", "days")
    if keep == "forever":
        return None, {}
    if keep != "days":
        return None, {"keep": "choose forever or a number of days"}
    raw = form.get("days", "").strip()
    # The length first: int() of thousands of digits is slow.
    days = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None
    if days is None or days > retention.MAX_DAYS:
        return None, {"days": f"a whole number of days from {minimum} to {retention.MAX_DAYS:,}"}
    if days < minimum:
        return None, {
            "days": f"keep records at least {minimum} days (ACTIVITY_STREAM_RETENTION_MIN_DAYS)"
        }
    return days, {}
