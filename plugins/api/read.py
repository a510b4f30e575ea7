"""Reading every list tab as JSON: ``GET /api/v1/<tab>`` and ``GET /api/v1/<tab>/<id>``.

A list tab is any tab with a ``Feed`` (a plugin's too). The API reads it exactly as its page
does: the tab must be among the viewer's ``visible_tabs``, the query string is read by the
tab's ``FilterSet`` (the same refusals, here a 422 naming each field), and the rows come from
the feed's ``page`` (its one query function, so the viewer's row scope applies) and
``records_data`` (the tab's ``as_data``, which leaves out what the viewer may not read).

A list asked for as CSV or JSON Lines (``Accept``) is the tab's export instead of a page: every
row under the same filters, streamed by ``core.listing.export.download`` and recorded as the
page's export is.

Every read is recorded as an access event (``core.listing.audit``): once an hour per reader,
tab and query (or record), so walking a list's pages is one record.
"""

from urllib.parse import urlencode

from flask import jsonify
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.datastructures import MIMEAccept
from werkzeug.exceptions import NotFound

from core.inputs import MAX_ID
from core.inputs import is_id
from core.listing.audit import record_api_read
from core.listing.export import download
from core.tabs import all_tabs
from core.tabs import get_tab
from core.tabs import visible_tabs
from plugins.api.gate import requires
from plugins.api.problems import Problem

JSON = "application/json"
AS2 = "application/activity+json"  # Activity Streams 2.0
AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PAGING = ("limit", "after")
# The exports a list answers, by the media type asked for: the formats of ``download``.
EXPORTS = {"text/csv": "csv", "application/x-ndjson": "jsonl"}


def attach(bp):
    """Add the read routes to the API's blueprint ``bp``."""
    bp.add_url_rule("/<tab>", "list_rows", list_rows)
    bp.add_url_rule("/<tab>/<int:record_id>", "one_record", one_record)


def list_feeds():
    """Return the feed of every list tab, in tab-bar order (the OpenAPI document's paths)."""
    return [tab.feed for tab in all_tabs() if tab.feed is not None]


def readable_feed(name):
    """Return the feed of the list tab ``name`` if the token's person may see it: 404 for an
    unknown tab or one without a list, 403 naming it for a tab they may not see."""
    tab = get_tab(name)
    if tab is None or tab.feed is None:
        raise Problem(404, f"There is no list tab named {name[:40]!r}.")
    if name not in {visible.name for visible in visible_tabs(current_user)}:
        raise Problem(403, f"The tab {name} is not among your tabs.")
    return tab.feed


@requires("read")
def list_rows(tab):
    """Answer one page of the tab's rows, newest first: ``{"data": [...], "next": url}`` and
    ``Link: <url>; rel="next"`` while there are more (a keyset cursor, ``after``). Asked for
    as ``text/csv`` or ``application/x-ndjson``, every row as a streamed download."""
    feed = readable_feed(tab)
    export = wanted_export()
    as2 = False if export else negotiate(feed)
    limit, after, errors = read_paging(request.args, export=bool(export))
    errors += unknown_parameters(feed, request.args)
    filters = feed.filters.read(request.args, current_user)
    errors += [
        {"field": field, "message": message}
        for field, messages in filters.errors.items()
        for message in messages
    ]
    if errors:
        raise Problem(422, "Some parameters were refused; see errors.", errors=errors)
    if export:
        response = download(feed, current_user._get_current_object(), filters, export, after)
        response.headers["Vary"] = "Accept"
        return response
    rows, cursor = feed.page(current_user, filters, after=after, size=limit)
    record_api_read(feed, current_user._get_current_object(), filters)
    data = feed.records_data(current_user, rows)
    next_url = None if cursor is None else page_url(feed, request.args, cursor)
    if as2:
        body = collection_page(feed, data, request.url, page_url(feed, request.args), next_url)
        response = jsonify(body)
        response.mimetype = AS2
    else:
        response = jsonify({"data": data, "next": next_url})
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    response.headers["Vary"] = "Accept"
    return response


@requires("read")
def one_record(tab, record_id):
    """Answer one record in full (``{"data": {...}}``) as the tab's detail view shows it; a
    record missing or not visible is the same 404."""
    feed = readable_feed(tab)
    as2 = negotiate(feed)
    try:
        record = feed.get(current_user, record_id)
    except NotFound as error:  # the feed's own words, which never tell the two cases apart
        raise Problem(404, error.description) from None
    (data,) = feed.records_data(current_user, [record])
    record_api_read(feed, current_user._get_current_object(), record_id=record_id)
    if as2:
        response = jsonify(as_activity(feed, data, context=True))
        response.mimetype = AS2
    else:
        response = jsonify({"data": data})
    response.headers["Vary"] = "Accept"
    return response


def read_paging(args, export=False):
    """Return ``(limit, after, errors)`` of the query string: ``limit`` 1 to 200 (default
    50), ``after`` a record id (the cursor of the next page) or None. An ``export`` holds
    every row: it refuses ``limit``, and ``after`` resumes it below that id."""
    errors = []
    limit, after = DEFAULT_LIMIT, None
    for name in PAGING:
        if len(args.getlist(name)) > 1:
            errors.append({"field": name, "message": f"{name}: give it once"})
    raw = args.get("limit")
    if raw is not None:
        if export:
            message = "limit: an export holds every row; leave limit out (after resumes one)"
            errors.append({"field": "limit", "message": message})
        elif raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_LIMIT:
            limit = int(raw)
        else:
            message = f"limit: expected a whole number from 1 to {MAX_LIMIT}, got {raw[:40]!r}"
            errors.append({"field": "limit", "message": message})
    raw = args.get("after")
    if raw is not None:
        if is_id(raw):
            after = int(raw)
        else:
            message = f"after: expected a whole number from 1 to {MAX_ID - 1}, got {raw[:40]!r}"
            errors.append({"field": "after", "message": message})
    return limit, after, errors


def unknown_parameters(feed, args):
    """Return a refusal for each parameter that is neither the tab's filter nor paging: a
    misspelt filter must not quietly widen the answer."""
    known = set(feed.filter_keys) | set(PAGING)
    use = ", ".join(sorted(known))
    return [
        {"field": name, "message": f"{name[:40]}: not a parameter of {feed.name}; use {use}"}
        for name in args
        if name not in known
    ]


def page_url(feed, args, cursor=None):
    """Return the absolute URL of the list with ``args``' filters and limit, from ``cursor``."""
    pairs = [(key, value) for key in feed.filter_keys for value in args.getlist(key) if value]
    if args.get("limit"):
        pairs.append(("limit", args["limit"]))
    if cursor is not None:
        pairs.append(("after", cursor))
    base = url_for("api.list_rows", tab=feed.name, _external=True)
    return f"{base}?{urlencode(pairs)}" if pairs else base


# Activity Streams 2.0 ---------------------------------------------------------------------

# The Activity tab's actions as Activity Streams' types; any other is a plain ``Activity``.
AS2_TYPES = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "viewed": "View",
}


def accepted():
    """Return the request's ``Accept`` without the media types' parameters: ``text/csv;
    charset=utf-8`` and ``application/json; charset=utf-8`` ask for CSV and JSON (werkzeug
    would match them to no answer of ours, as if they were not sent)."""
    return MIMEAccept(
        [(value.split(";", 1)[0].strip(), quality) for value, quality in request.accept_mimetypes]
    )


def wanted_export():
    """Return the export format (``csv`` or ``jsonl``) the request prefers to JSON and to
    Activity Streams, or None: a CSV or JSON Lines client gets the whole list at once."""
    accept = accepted()
    page = max(accept[JSON], accept[AS2], accept["application/ld+json"])
    # The better of the two (CSV on a tie), only if strictly preferred: ``*/*``, any
    # client's default, still gets a page of JSON.
    media_type = max(EXPORTS, key=lambda media_type: accept[media_type])
    return EXPORTS[media_type] if accept[media_type] > page else None


def wants_as2():
    """Tell whether the request prefers Activity Streams (``application/activity+json``, or
    ``application/ld+json``) to plain JSON."""
    accept = accepted()
    as2 = max(accept[AS2], accept["application/ld+json"])
    return as2 > 0 and as2 > accept[JSON]


def negotiate(feed):
    """Return True when the request asks for Activity Streams, which only the Activity tab
    speaks: the others answer 406."""
    if not wants_as2():
        return False
    if feed.name != "activity":
        raise Problem(406, f"The tab {feed.name} answers application/json only.")
    return True


def collection_page(feed, items, url, first, next_url):
    """Return a page of the Activity tab as an Activity Streams ``OrderedCollectionPage``."""
    page = {
        "@context": AS2_CONTEXT,
        "type": "OrderedCollectionPage",
        "id": url,
        "partOf": first,
        "orderedItems": [as_activity(feed, item) for item in items],
    }
    if next_url:
        page["next"] = next_url
    return page


def as_activity(feed, item, context=False):
    """Return one event (as the tab's ``as_data`` gave it) as an Activity Streams activity."""
    activity = {
        "id": url_for("api.one_record", tab=feed.name, record_id=item["id"], _external=True),
        "type": AS2_TYPES.get(item["action"], "Activity"),
        "actor": _actor(item["actor"]),
        "object": _thing(item["object"]),
        "published": item["occurred_at"],
        "summary": item["summary"] or None,
        "name": item["verb"],
    }
    if item.get("target"):
        activity["target"] = _thing(item["target"])
    activity = {key: value for key, value in activity.items() if value is not None}
    return {"@context": AS2_CONTEXT, **activity} if context else activity


def _actor(actor):
    if actor.get("external_id"):  # a person of the system that sent the event
        urn = f"urn:activity-stream:external:{actor['external_id']}"
        return {"type": "Person", "id": urn, "name": actor["name"]}
    if actor["id"] is None:  # the system itself
        return {"type": "Application", "name": actor["name"]}
    return {
        "type": "Person",
        "id": f"urn:activity-stream:user:{actor['id']}",
        "name": actor["name"],
    }


def _thing(ref):
    # The kind stays in the id: Activity Streams has no type for a task or an invoice.
    return {
        "type": "Object",
        "id": f"urn:activity-stream:{ref['type']}:{ref['id']}",
        "name": ref["label"],
    }
