"""The Activity tab on the list machinery (``core.listing``): its rows, options and detail view.

Every route the feed serves starts from ``queries.visible_events``.
"""

import functools
import json
from types import SimpleNamespace
from typing import NamedTuple
from urllib.parse import quote

from flask import current_app
from flask import url_for
from flask_login import current_user
from markupsafe import Markup
from markupsafe import escape

from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.events.recorder import SESSION_PREFIX
from core.listing.feed import Feed
from core.listing.feed import iso_utc
from core.people import Team
from core.people import User
from core.people import initials
from core.people import sees_team_names
from core.plugins import hooks
from core.retention import Prune
from core.retention import delete_audience
from core.templating import local_time
from core.templating import relative_time
from core.templating import utc_time
from plugins.activity import changeset
from plugins.activity import queries
from plugins.activity import secrecy
from plugins.activity.describe import action_phrase
from plugins.activity.describe import as_words
from plugins.activity.describe import describe
from plugins.activity.describe import describe_all
from plugins.activity.describe import named_people
from plugins.activity.describe import object_links
from plugins.activity.filters import FILTERS
from plugins.activity.filters import session_number


class Row(NamedTuple):
    """One event as ``activity/rows.html`` prints it: its ``<li>`` (``html``), and what the
    head of a group it starts shows (its actor's initials, its time)."""

    event: object
    initials: Markup
    local: str  # the time in the viewer's zone
    relative: str  # "5 min ago"
    utc: str  # the time in UTC (the title of the time)
    iso: str  # the time in ISO 8601, without its "Z" (the ``datetime`` of the time)
    html: Markup


def prepare_rows(viewer, events):
    """Return what ``activity/rows.html`` prints for each of ``events`` (a ``Row`` each).

    Everything per row is prepared here in one pass (sentence, change line, times, links,
    its markup), so the template only prints: rendering 50 rows is the hot path of the tab.
    """
    events, changes = _as_read(viewer, events)
    events = named_people(events)
    sentences = describe_all(events, object_links(events), viewer)
    page = SimpleNamespace(
        zone=viewer.zone(),
        now=utcnow(),
        base=escape(url_for("stream.tab", tab=queries.TAB)),
        # The Timeline plugin's link, when it is installed (as a template would ask for it),
        # for the signed-in person (who follows it) read once: through the ``current_user``
        # proxy, each attribute it checks is looked up again, half its cost a row.
        timeline_url=current_app.jinja_env.globals.get("timeline_url"),
        signed_in=current_user._get_current_object(),
    )
    return [_row(event, sentences[event.id], changes.get(event.id), page) for event in events]


def _row(event, sentence, shown_changes, page):
    """Return the ``Row`` of ``event`` (its ``sentence``, its change set as shown) on
    ``page`` (the viewer's zone, the time now, the tab's URL escaped, the timeline link and
    who is signed in)."""
    at = event.occurred_at
    times = (
        local_time(at, zone=page.zone),
        relative_time(at, now=page.now),
        utc_time(at),
        at.isoformat(),
    )
    initials = _initials(event.actor_name)
    summary = _summary_line(event, shown_changes, sentence, page.zone)
    timeline = page.timeline_url and page.timeline_url(
        event.object_type, event.object_id, viewer=page.signed_in
    )
    html = _row_markup(event, initials, times, sentence, summary, timeline, page.base)
    return Row(event, initials, *times, html)


def _row_markup(event, initials, times, sentence, summary, timeline, base):
    """Return the ``<li>`` of one row: its actor's ``initials``, its ``times`` (local,
    relative, UTC, ISO), its ``sentence`` and ``summary`` line, the links to its details, its
    object's history and its ``timeline``; ``base``: the tab's URL, escaped.

    One string: the rows template's own machinery (a lookup, an escape and a yield per value,
    twenty a row) cost as much as preparing the row. Every value is escaped as the template's
    autoescaping did, but for those that cannot hold a character to escape: a number, a time
    in ISO form, the words of ``relative_time``, what ``quote`` gives."""
    local, relative, utc, iso = times
    detail = f"{base}/{event.id}"
    history = f"{base}?object={_quoted(event.object_type)}%3A{_quoted(event.object_id)}"
    # Only what the sentence does not say already (``_summary_line``), or nothing.
    summary = f'<p class="summary">{_escaped(summary)}</p>' if summary else ""
    if timeline:
        timeline = escape(timeline)
        timeline = (
            f'<a href="{timeline}" hx-get="{timeline}" hx-target="#panel" hx-swap="outerHTML"'
            ' hx-push-url="true">Timeline</a>'
        )
    else:
        timeline = ""
    return Markup(
        f'<li class="row" data-row-id="{event.id}">\n'
        f'  <span class="avatar" aria-hidden="true">{initials}</span>\n'
        '  <div class="row-body">\n'
        f'    <p class="sentence">{_escaped(sentence)}</p>\n'
        "    \n"
        f"    {summary}\n"
        f'    <details class="row-detail" hx-get="{detail}" hx-trigger="toggle once"'
        ' hx-target="find .detail-slot" hx-swap="innerHTML">\n'
        "      <summary>Details</summary>\n"
        f'      <div id="detail-{event.id}" class="detail-slot"></div>\n'
        f'      <noscript><a href="{detail}">Open the change set</a></noscript>\n'
        "    </details>\n"
        "  </div>\n"
        '  <div class="row-side">\n'
        f'    <time datetime="{iso}Z" title="{utc}">{escape(local)}</time>\n'
        f'    <span class="hint">{relative}</span>\n'
        '    <span class="row-actions">\n'
        f'      <a href="{history}" hx-get="{history}" hx-target="#panel" hx-swap="outerHTML"'
        ' hx-push-url="true">History</a>\n'
        "      \n"
        f"      {timeline}\n"
        "    </span>\n"
        "  </div>\n"
        "</li>"
    )


def _escaped(text):
    """Return ``text`` escaped, unless it is ``Markup`` (HTML already, as the template took it)."""
    return text if isinstance(text, Markup) else escape(text)


# A page names few people, types and objects, many times over: each is read once a process.
@functools.lru_cache(maxsize=1024)
def _initials(name):
    """Return the avatar's initials of ``name``, escaped."""
    return escape(initials(name))


_quoted = functools.lru_cache(maxsize=4096)(quote)


def _summary_line(event, shown_changes, sentence, zone):
    """Return the line under a row's sentence: its change set rendered (when the stored
    summary is the one written from it), else the stored summary unless the sentence already
    says it (a resend's "to Dana Scully")."""
    if shown_changes is not None:
        return changeset.row_line(event.object_type, shown_changes, zone)
    summary = event.summary
    if not summary:
        return ""
    return "" if summary in Markup(sentence).striptags() else summary


def _as_read(viewer, events, lines=True):
    """Return ``events`` as ``viewer`` may read them, and ``{event id: change set}`` of those
    whose summary was written from their change set (the change set as ``viewer`` may read
    it; with ``lines`` only). The list does not read change sets: those of the page's events
    with a summary (``lines``), or that can hold a team's name the viewer may not read, are
    read here in one statement."""
    hides = secrecy.hides_team_names(viewer)
    wanted = [
        e.id for e in events if (lines and e.summary) or (hides and secrecy.may_name_teams(e))
    ]
    if not wanted:
        return events, {}
    stored = _change_sets(wanted)
    shown, rendered = [], {}
    for event in events:
        text = stored.get(event.id)
        recorded = json.loads(text) if text else {}
        written = lines and changeset.summarized(event.summary, recorded)
        if hides and secrecy.may_name_teams(event):
            hidden = secrecy.team_free(SimpleNamespace(**event._asdict(), changes=text))
            event = event._replace(
                object_label=hidden["object_label"],
                target_label=hidden["target_label"],
                summary=hidden["summary"],
            )
            recorded = hidden["changes"]
        if written:
            rendered[event.id] = recorded
        shown.append(event)
    return shown, rendered


def _change_sets(ids):
    """Return ``{event id: change set (JSON text)}`` of ``ids``, by primary key.

    Plain SQL: compiling an IN list of fifty id nodes through the query builder cost twice
    the read itself (1.8 ms a page; 0.3 ms so). The ids are ours, passed as parameters.
    """
    marks = ", ".join([database.param] * len(ids))
    table = ActivityEvent._meta.table_name
    sql = f"SELECT id, changes FROM {table} WHERE id IN ({marks})"
    return dict(database.execute_sql(sql, list(ids)).fetchall())


def filter_options(viewer):
    """Return the filter bar's choices: people, the actions and types that occur (named as
    the rows name them), teams (for the roles that see team names, else none)."""
    teams = Team.select(Team.id, Team.name).order_by(Team.name)
    return {
        "actors": [(u.id, u.name) for u in User.select(User.id, User.name).order_by(User.name)],
        "teams": [(t.id, t.name) for t in teams] if sees_team_names(viewer) else [],
        "actions": sorted((action_phrase(a), action_phrase(a)) for a in queries.recorded_actions()),
        "types": [(kind, as_words(kind)) for kind in queries.object_types()],
    }


def detail_context(viewer, event):
    """Return the change set and sentence of one event for ``activity/detail.html``."""
    record = event
    shown = _shown(viewer, event)
    if (shown["object_label"], shown["target_label"]) != (event.object_label, event.target_label):
        labels = {"object_label": shown["object_label"], "target_label": shown["target_label"]}
        event = ActivityEvent(**{**event.__data__, **labels})  # a copy: the record stays
    (event,) = named_people([event])
    return {
        "changes": changeset.detail_rows(event.object_type, shown["changes"], viewer.zone()),
        "sentence": describe(event, object_links([event]), viewer),
        "action": action_phrase(event.action),
        "kind": as_words(event.object_type),
        "metadata": shown["metadata"],
        "origin_urls": origin_urls(record),
        # What plugins offer on this record (Restore…), each checked again by its own URL.
        "record_actions": [
            action
            for action in hooks(current_app).record_actions(viewer=viewer, event=record)
            if action
        ],
    }


def origin_urls(event):
    """Return the Activity tab's URLs of what ``event``'s session and request did (None for
    an event recorded outside one)."""
    base = url_for("stream.tab", tab=queries.TAB)
    via = event.recorded_via or ""
    session = via.startswith(SESSION_PREFIX) and session_number(via)
    return {
        "session_number": session or None,
        "session": f"{base}?session={quote(session)}" if session else None,
        "request": f"{base}?request={quote(event.request_id)}" if event.request_id else None,
    }


def _shown(viewer, event):
    """Return the labels, summary and change set (a dict) of ``event`` as ``viewer`` reads them."""
    if secrecy.hides_team_names(viewer):
        return secrecy.team_free(event)
    return {
        "object_label": event.object_label,
        "target_label": event.target_label,
        "summary": event.summary,
        "changes": json.loads(event.changes) if event.changes else {},
        "metadata": event.metadata,
    }


def as_data(viewer, events):
    """Return ``events`` as plain dicts for the API and exports, as ``viewer`` reads them on
    the tab: team names hidden from those who may not see them (labels, summary, changes), as
    in the rows and the detail view. A full record (read by ``FEED.get``) also has its change
    set, where it came from and its metadata, as its detail view shows them."""
    listed = [e for e in events if not isinstance(e, ActivityEvent)]
    listed = iter(_as_read(viewer, listed, lines=False)[0])
    return [
        _full_data(viewer, event) if isinstance(event, ActivityEvent) else _data(next(listed))
        for event in events
    ]


def _data(event, shown=None):
    """Return the fields of one event that its row shows (``shown``: the labels and summary
    as the viewer reads them, else the event's own)."""
    shown = shown or {
        "object_label": event.object_label,
        "target_label": event.target_label,
        "summary": event.summary,
    }
    target = None
    if event.target_type:
        target = {"type": event.target_type, "id": event.target_id, "label": shown["target_label"]}
    return {
        "id": event.id,
        "occurred_at": iso_utc(event.occurred_at),
        "actor": {
            "id": event.actor_id,
            "name": event.actor_name,
            "role": event.actor_role,
            # An actor of another system (recorded over the API) has its id there instead.
            "external_id": event.actor_external_id,
        },
        "verb": event.verb,
        "action": event.action,
        "object": {
            "type": event.object_type,
            "id": event.object_id,
            "label": shown["object_label"],
        },
        "target": target,
        "summary": shown["summary"],
    }


def _full_data(viewer, event):
    """Return one event in full: its row's fields, its change set and its request."""
    shown = _shown(viewer, event)
    return {
        **_data(event, shown),
        "changes": shown["changes"],
        "request": {
            "ip": event.ip,
            "user_agent": event.user_agent,
            "id": event.request_id,
            "via": event.recorded_via,
        },
        # As sent, as the detail view shows it (left out where it could name a team).
        "metadata": json.loads(shown["metadata"]) if shown["metadata"] else None,
    }


EMPTY = "No activity yet. Actions on the platform will show up here."
FEED = Feed(
    name=queries.TAB,
    label="Activity",
    noun="event",
    model=ActivityEvent,
    records=queries.visible_events,
    read=queries.LIST.read,
    filters=FILTERS,
    prepare_rows=prepare_rows,
    options=filter_options,
    detail_context=detail_context,
    as_data=as_data,
    empty_text=EMPTY,
    import_name=__name__,
    # An event goes with its audience rows; its search words go with it (the index is the
    # database's). Its time: when it happened, as the other system said for one it sent.
    prune=Prune(time=ActivityEvent.occurred_at, dependants=delete_audience),
)
