"""The Activity tab's panel and fragments. Every route starts from ``queries.visible_events``.

Each fragment URL also renders a full page when opened directly (deep link, reload).
"""

import json
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core.db import utcnow
from core.people import Team
from core.people import User
from core.templating import local_time
from core.templating import relative_time
from core.templating import viewer_zone
from plugins.activity import queries
from plugins.activity.describe import PHRASES
from plugins.activity.describe import describe
from plugins.activity.describe import describe_all
from plugins.activity.describe import object_links
from plugins.activity.filters import parse_cursor
from plugins.activity.filters import parse_filters

bp = Blueprint("activity", __name__, template_folder="templates")

FILTER_KEYS = ("actor", "verb", "action", "type", "object", "team", "from", "to", "q")


def filter_args():
    """Return the filter part of the query string, as a list of pairs for ``url_for``."""
    return [(key, value) for key in FILTER_KEYS for value in request.args.getlist(key) if value]


def rows_context(events, next_cursor):
    """Return what ``activity/rows.html`` needs to render ``events`` and the next sentinel.

    Everything per row is prepared here in one pass (sentence, times, links), so the template
    only prints: rendering 50 rows is the hot path of the tab.
    """
    sentences = describe_all(events, object_links(events))
    zone = viewer_zone()
    now = utcnow()
    base = url_for("stream.tab", tab=queries.TAB)
    rows = [
        {
            "event": event,
            "sentence": sentences[event.id],
            "initials": initials(event.actor_name),
            "local": local_time(event.occurred_at, zone=zone),
            "relative": relative_time(event.occurred_at, now=now),
            "detail_url": f"{base}/{event.id}",
            "history_url": f"{base}?object={quote(event.object_type)}%3A{quote(event.object_id)}",
        }
        for event in events
    ]
    next_url = None
    if next_cursor is not None:
        next_url = f"{base}/rows?" + urlencode(filter_args() + [("after", next_cursor)])
    return {"rows": rows, "next_url": next_url}


def initials(name):
    """Return up to two initials of ``name`` for the avatar."""
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


def activity_panel():
    """Render the Activity panel: filter bar, capped total, first page, new-events poller."""
    filters = parse_filters(request.args)
    after = parse_cursor(request.args)
    events, next_cursor = queries.page(current_user, filters, after=after)
    context = rows_context(events, next_cursor)
    total = queries.total(current_user, filters)
    newest = events[0].id if events and after is None else None
    return render_template(
        "activity/panel.html",
        filters=filters,
        total=total,
        cap=queries.COUNT_CAP,
        newest=newest,
        poll_url=_poll_url(newest),
        actors=User.select(User.id, User.name).order_by(User.name),
        teams=Team.select(Team.id, Team.name).order_by(Team.name),
        actions=sorted(PHRASES),
        types=queries.object_types(),
        **context,
    )


@bp.get("/rows")
def rows():
    """Return the next page of rows (fragment), or the panel from that point (full page)."""
    if not request.htmx:
        return _full_page(activity_panel())
    filters = parse_filters(request.args)
    events, next_cursor = queries.page(current_user, filters, after=parse_cursor(request.args))
    return render_template("activity/rows.html", **rows_context(events, next_cursor))


@bp.get("/new")
def new_events():
    """Return the new-events banner: how many visible events arrived since ``since``."""
    if not request.htmx:  # opened directly: the tab itself, with the same filters
        return redirect(_with_query(url_for("stream.tab", tab=queries.TAB), filter_args()))
    since = parse_cursor({"after": request.args.get("since", "")}) or 0
    count = queries.newer_count(current_user, parse_filters(request.args), since)
    return render_template(
        "activity/new_banner.html",
        count=count,
        cap=queries.COUNT_CAP,
        poll_url=_poll_url(since),
        panel_url=_with_query(url_for("stream.tab", tab=queries.TAB), filter_args()),
    )


@bp.get("/<int:event_id>")
def detail(event_id):
    """Show one event's full change set: inline for htmx, else as a page."""
    event = queries.get_visible_event(current_user, event_id)
    changes = json.loads(event.changes) if event.changes else {}
    sentence = describe(event, object_links([event]))
    html = render_template("activity/detail.html", event=event, changes=changes, sentence=sentence)
    return html if request.htmx else _full_page(html)


def _full_page(panel_html):
    return render_template("stream.html", current_tab=g.stream_tab, panel=Markup(panel_html))


def _poll_url(since):
    if since is None:
        return None
    return _with_query(url_for("activity.new_events"), filter_args() + [("since", since)])


def _with_query(url, pairs):
    """Return ``url`` with ``pairs`` as its query string (no bare ``?`` when there are none)."""
    return f"{url}?{urlencode(pairs)}" if pairs else url
