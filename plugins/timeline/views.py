"""The timeline pages: ``/stream/timeline/person/<id>`` and ``/stream/timeline/<type>/<id>``,
each with ``/rows?after=`` for the next page (what "Load more" asks for).

The blueprint is part of the Activity tab (``register_blueprints``' ``part_of_tab``), so the
stream gate answers as for an object's history on that tab (``/stream/activity?object=…``):
signed-out viewers are sent to sign in, Contacts, Freelancers and anyone who may not see the
Activity tab get 403, before any code here runs. Then:

- an object's timeline is a 404 unless the Activity tab lists the viewer at least one event
  about it (the same answer for an unknown type, an id that does not exist and one the viewer
  may not see); a person's is a 404 for an id that is no account;
- each source's rows come from its tab's ``Feed.page`` under the tab's own filters
  (``sources``), for the tabs the viewer sees; the merge (``merge``) puts them in time order;
- each row is printed by its tab's own ``prepare_rows`` and row template, marked with the tab.
"""

from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core.events.changes import as_words
from core.inputs import is_id
from core.listing.audit import record_person_search
from core.listing.feed import PAGE_SIZE
from core.people import User
from core.tabs import get_tab
from plugins.activity.filters import object_label
from plugins.activity.secrecy import label_for
from plugins.timeline import merge
from plugins.timeline import sources
from plugins.timeline.sources import ACTIVITY
from plugins.timeline.sources import Subject

bp = Blueprint("timeline", __name__, template_folder="templates", url_prefix="/stream/timeline")

# The tab whose gate covers the timeline: an object's own history is on it.
GATE_TAB = ACTIVITY
MAX_TYPE, MAX_OBJECT_ID = 32, 64  # as the event store keeps them (core.events.models)
PERSON_TYPE = "user"  # the object type of a person on the Activity tab


# Subjects: who or what, as the viewer may know it. ---------------------------------------


def person_subject(person_id):
    """Return the subject of person ``person_id``'s timeline; 404 when there is no such account."""
    person = User.get_or_none(User.id == person_id)
    if person is None:
        abort(404, "There is no such person.")
    return Subject("person", str(person.id), person.name)


def names_an_object(kind, object_id):
    """Tell whether ``kind`` and ``object_id`` can name an object of the event store (its
    lengths; no ``:``, which separates them in ``object=``, nor ``/``, which a URL splits)."""
    return (
        0 < len(kind) <= MAX_TYPE
        and 0 < len(object_id) <= MAX_OBJECT_ID
        and not {":", "/"} & set(kind)
        and "/" not in object_id
    )


def object_subject(viewer, kind, object_id):
    """Return the subject of one object's timeline; 404 unless the Activity tab lists ``viewer``
    at least one event about it. Its title and the words its messages are found by are its
    latest name, as the object's history on the Activity tab names it (a team's name only
    for the roles that see team names; for the others, no message is searched by it)."""
    missing = f"There is no such {as_words(kind)[:MAX_TYPE]}, or it does not relate to you."
    if not names_an_object(kind, object_id):
        abort(404, missing)
    activity = sources.visible(viewer).get(GATE_TAB)
    history = sources.OBJECT[0]  # the object's history: the Activity tab's own filter
    filters = history.filters(activity, Subject(kind, object_id, ""), viewer) if activity else None
    if filters is None or not activity.feed.page(viewer, filters, size=1)[0]:
        abort(404, missing)
    name = object_label(kind, object_id)
    shown = label_for(viewer, kind, name)
    title = f"{as_words(kind)} “{shown or object_id}”"
    return Subject(kind, object_id, title, name if shown == name else "")


# Reading one page. ------------------------------------------------------------------------


def read_page(viewer, subject, positions=None, size=PAGE_SIZE):
    """Return ``(entries, next positions or None, tabs merged)``: up to ``size`` rows of
    ``subject``'s timeline as ``viewer`` may see them, from ``positions`` (None: the top).

    Each source is read through its tab's ``Feed.page`` under its own filters, only for a tab
    ``viewer`` sees; a search for a person is recorded as the tab records it.
    """
    tabs = sources.visible(viewer)
    streams, merged = [], []
    for index, source in enumerate(sources.sources_of(subject)):
        tab = tabs.get(source.tab)
        filters = source.filters(tab, subject, viewer) if tab else None
        start = None if positions is None else positions[index]
        rows, more = [], False
        if filters is not None:
            merged.append(tab)
            if start != merge.DONE:
                record_person_search(tab.feed, viewer, filters)
                rows, below = tab.feed.page(viewer, filters, after=start, size=size)
                more = below is not None
        order = tab.order if tab else 0
        streams.append(merge.Stream(source.tab, order, rows, more, _time_of(source.time)))
    entries, positions = merge.merge(streams, size)
    following = positions if any(p != merge.DONE for p in positions) else None
    return entries, following, list({tab.name: tab for tab in merged}.values())


def _time_of(name):
    return lambda row: getattr(row, name)


def prepared(viewer, entries):
    """Return what ``timeline/entries.html`` prints for each of ``entries``: the tab, its feed
    and the row as the tab's own ``prepare_rows`` prepares it (one pass per tab)."""
    tabs = {entry.tab: get_tab(entry.tab) for entry in entries}
    by_tab = {}
    for name, tab in tabs.items():
        rows = [entry.row for entry in entries if entry.tab == name]
        by_tab[name] = iter(tab.feed.prepare_rows(viewer, rows))
    return [
        {"tab": tabs[entry.tab], "feed": tabs[entry.tab].feed, "row": next(by_tab[entry.tab])}
        for entry in entries
    ]


# Answering. -------------------------------------------------------------------------------


def rows_url(subject, positions):
    """Return the URL of the next page of ``subject``'s timeline from ``positions``."""
    after = merge.encode(positions)
    if subject.kind == "person":
        return url_for("timeline.person_rows", person_id=int(subject.id), after=after)
    return url_for("timeline.object_rows", kind=subject.kind, object_id=subject.id, after=after)


def parse_after(subject):
    """Return the positions of the request's ``after``; a malformed one is a 400 naming it."""
    count = len(sources.sources_of(subject))
    raw = request.args.get("after", "")
    positions = merge.decode(raw, count)
    if positions is None:
        abort(400, f"after: expected {count} whole numbers joined by dots, got {raw[:40]!r}")
    return positions


def answer(subject, positions=None):
    """Answer ``subject``'s timeline from ``positions``: the next rows alone to the "Load more"
    sentinel (htmx), else the timeline from there, as a panel (htmx into ``#panel``) or a
    page."""
    viewer = current_user._get_current_object()
    entries, following, tabs = read_page(viewer, subject, positions)
    context = {
        "subject": subject,
        "entries": prepared(viewer, entries),
        "next_url": rows_url(subject, following) if following else None,
    }
    if positions is not None and request.htmx and not request.htmx.boosted:
        return render_template("timeline/entries.html", **context)
    panel = render_template(
        "timeline/panel.html",
        tabs=tabs,
        zone_name=str(viewer.zone()),
        history_url=_history_url(subject),
        **context,
    )
    title = f"Timeline of {subject.title}"
    shell = {"current_tab": g.stream_tab, "panel": Markup(panel), "title": title}
    if request.htmx.target == "panel" and not request.htmx.boosted:
        return render_template("timeline/panel_swap.html", **shell)
    return render_template("timeline/page.html", **shell)


def _history_url(subject):
    """Return the subject's own list on the Activity tab (an object's history, a person's
    actions)."""
    if subject.kind == "person":
        return url_for("stream.tab", tab=GATE_TAB, actor=subject.id)
    return url_for("stream.tab", tab=GATE_TAB, object=f"{subject.kind}:{subject.id}")


@bp.get("/person/<int:person_id>")
def person(person_id):
    """A person's timeline, newest first."""
    return answer(person_subject(person_id))


@bp.get("/person/<int:person_id>/rows")
def person_rows(person_id):
    """The next page of a person's timeline."""
    subject = person_subject(person_id)
    return answer(subject, parse_after(subject))


@bp.get("/<kind>/<object_id>")
def object_timeline(kind, object_id):
    """One object's timeline, newest first; a person's (``user``) is their own timeline."""
    if kind == PERSON_TYPE and is_id(object_id):
        return redirect(url_for("timeline.person", person_id=int(object_id)))
    return answer(object_subject(current_user._get_current_object(), kind, object_id))


@bp.get("/<kind>/<object_id>/rows")
def object_rows(kind, object_id):
    """The next page of one object's timeline."""
    subject = object_subject(current_user._get_current_object(), kind, object_id)
    return answer(subject, parse_after(subject))


def timeline_url(kind, object_id, viewer=None):
    """Return the URL of the timeline of object ``kind`` ``object_id`` (a person's for a
    ``user``, or ``kind`` ``person``), or None when ``viewer`` (the signed-in user by default)
    may not open timelines or the object could have none. A template global: a template links
    a timeline with ``{% set url = timeline_url(type, id) if timeline_url is defined %}``."""
    # The user itself, not the proxy: each attribute the visibility check reads would be
    # looked up through it again.
    viewer = current_user._get_current_object() if viewer is None else viewer
    if GATE_TAB not in sources.visible(viewer):
        return None
    kind, object_id = str(kind), str(object_id)
    if kind in (PERSON_TYPE, "person"):
        return url_for("timeline.person", person_id=int(object_id)) if is_id(object_id) else None
    if not names_an_object(kind, object_id):
        return None
    return url_for("timeline.object_timeline", kind=kind, object_id=object_id)
