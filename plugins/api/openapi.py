"""The API described: ``/api/v1/openapi.json`` (OpenAPI 3.1) and the page ``/api/v1/docs``.

Written from the declarations the routes read, when asked: one path per list tab installed,
its parameters from the tab's ``FilterSet`` (each qualifier's URL parameter and choices, the
days, the search box and its keys), the paging of ``read``, and ``POST /api/v1/events`` from
``ingest.EVENT_SCHEMA`` when the ingest declares it and serves the route. Both are public.
"""

from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from core.inputs import MAX_ID
from core.listing.filters import Named
from core.listing.filters import Person
from core.search.language import MAX_QUERY
from plugins.api import ingest
from plugins.api import read
from plugins.api.problems import MEDIA_TYPE as PROBLEM
from plugins.api.problems import TITLES
from plugins.api.tokens import SCOPES

PREFIX = "/api/v1"
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID - 1}
TOKEN = [{"token": []}]
AS2_NOTE = (
    " With `Accept: application/activity+json`, an Activity Streams 2.0 OrderedCollectionPage."
)
EXPORT_NOTE = (
    " With `Accept: text/csv` or `application/x-ndjson`, every row at once as a download (the "
    "tab's export, recorded): no `limit`; `after` resumes an export cut short."
)


def attach(bp):
    """Add the documents' routes to the API's blueprint ``bp``."""
    bp.add_url_rule("/openapi.json", "openapi", openapi_json)
    bp.add_url_rule("/docs", "docs", docs_page)


def openapi_json():
    """Answer the OpenAPI document (public)."""
    return jsonify(document())


def docs_page():
    """Answer the document as a page for people: every route, its parameters and answers,
    rendered on the server (no script)."""
    return render_template("api/docs.html", doc=document())


def document():
    """Return the OpenAPI 3.1 document of the API as installed."""
    paths = {f"{PREFIX}/": {"get": index_operation()}}
    for feed in read.list_feeds():
        paths[f"{PREFIX}/{feed.name}"] = {"get": list_operation(feed)}
        paths[f"{PREFIX}/{feed.name}/{{id}}"] = {"get": record_operation(feed)}
    schemas = {"Problem": PROBLEM_SCHEMA, "Row": ROW_SCHEMA, "Page": PAGE_SCHEMA}
    event_schema = getattr(ingest, "EVENT_SCHEMA", None)
    if event_schema is not None and _serves("POST", f"{PREFIX}/events"):
        schemas["Event"] = {k: v for k, v in event_schema.items() if k != "$schema"}
        paths[f"{PREFIX}/events"] = {"post": events_operation()}
    paths[f"{PREFIX}/openapi.json"] = {"get": public_operation("This document.", JSON_OBJECT)}
    paths[f"{PREFIX}/docs"] = {
        "get": public_operation("This document as a page.", None, "text/html")
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Activity Stream API",
            "version": "1",
            "description": (
                "Read every list tab the token's person may see, with the same filters, rows "
                "and secrecy as the tab's page, and record events from other systems. Send "
                "`Authorization: Bearer <token>`; a token has one scope: "
                + "; ".join(f"`{scope}` to {what}" for scope, what in SCOPES.items())
                + ". Every refusal is `application/problem+json` naming each field refused."
            ),
        },
        "servers": [{"url": request.host_url.rstrip("/")}],
        "security": TOKEN,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal token (ast_…), made in Settings › API or with "
                    "`flask tokens create`.",
                }
            },
            "schemas": schemas,
        },
    }


def _serves(method, path):
    """Tell whether a route of the app answers ``method`` at ``path`` itself (not a tab's)."""
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
    except Exception:  # no route, or not that method: not served
        return False
    return endpoint != "api.list_rows"


# Operations -------------------------------------------------------------------------------


def index_operation():
    """Describe ``GET /api/v1/``: who the token acts as."""
    return {
        "operationId": "whoami",
        "summary": "Who the token acts as, its scope and the tabs it may read.",
        "responses": {
            "200": _json("The token's person and tabs.", JSON_OBJECT),
            **_problems(401, 429),
        },
    }


def list_operation(feed):
    """Describe ``GET /api/v1/<tab>``: a page of the tab's rows under its filters."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}
    refusals = (400, 401, 403, 404, 422, 429)
    if feed.name == "activity":
        content[read.AS2] = {"schema": AS2_PAGE}
    else:
        refusals += (406,)
    for media_type, fmt in read.EXPORTS.items():
        content[media_type] = {"schema": {"type": "string", "description": EXPORT_FORMATS[fmt]}}
    keys = ", ".join(f"`{key}:`" for key in feed.filters.keys)
    streams = AS2_NOTE if feed.name == "activity" else ""
    return {
        "operationId": f"list_{feed.name}",
        "tags": [feed.label],
        "summary": f"Read the {feed.label} tab, newest first.",
        "description": (
            f"The {feed.noun}s the token's person sees on the {feed.label} tab, under the same "
            f"filters: the search box (`q`, with {keys} and free words) and the filter bar's "
            "parameters, which combine. Every refused parameter or term is named in a 422. "
            'Follow `next` (or `Link: rel="next"`) for the following page.' + streams + EXPORT_NOTE
        ),
        "parameters": filter_parameters(feed.filters) + PAGING_PARAMETERS,
        "responses": {
            "200": {
                "description": f"A page of {feed.noun}s, or all of them as a download.",
                "headers": {
                    "Link": {
                        "description": 'The next page: `<url>; rel="next"`, while there is one.',
                        "schema": {"type": "string"},
                    },
                    "Content-Disposition": {
                        "description": "A download's file name: `attachment; filename=...`.",
                        "schema": {"type": "string"},
                    },
                },
                "content": content,
            },
            **_problems(*refusals),
        },
    }


def record_operation(feed):
    """Describe ``GET /api/v1/<tab>/{id}``: one record in full."""
    content = {"application/json": {"schema": RECORD_SCHEMA}}
    refusals = (400, 401, 403, 404, 429)
    if feed.name == "activity":
        content[read.AS2] = {"schema": AS2_ITEM}
    else:
        refusals += (406,)
    return {
        "operationId": f"get_{feed.name}",
        "tags": [feed.label],
        "summary": f"One {feed.noun} in full, as its detail view shows it.",
        "description": (
            f"404 alike for a {feed.noun} that does not exist and one the token's person "
            "may not see."
        ),
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": ID}],
        "responses": {
            "200": {"description": f"The {feed.noun}.", "content": content},
            **_problems(*refusals),
        },
    }


def events_operation():
    """Describe ``POST /api/v1/events`` from the ingest's own schema."""
    event = {"$ref": "#/components/schemas/Event"}
    batch = getattr(ingest, "BATCH_LIMIT", None)
    many = {"type": "array", "items": event, "minItems": 1}
    if batch:
        many["maxItems"] = batch
    return {
        "operationId": "record_events",
        "tags": ["Events"],
        "summary": "Record one event, or a batch, from another system.",
        "description": "Needs a token of the scope `events:write`.",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [event, many]}}},
        },
        "responses": {
            "2XX": _json("Recorded.", JSON_OBJECT),
            **_problems(400, 401, 403, 409, 413, 415, 422, 429),
        },
    }


def public_operation(summary, schema, media_type="application/json"):
    """Describe a public document's route (no token)."""
    content = {media_type: {"schema": schema or {"type": "string"}}}
    return {
        "summary": summary,
        "security": [],
        "responses": {"200": {"description": summary, "content": content}},
    }


# Parameters -------------------------------------------------------------------------------


def filter_parameters(filters):
    """Return the query parameters of a ``FilterSet``: each qualifier's URL parameter (a list
    of values, its choices when it has some), ``from``/``to`` when it bounds days, ``q``."""
    parameters = []
    for qualifier in filters.qualifiers:
        if not qualifier.param:
            continue
        if isinstance(qualifier, Named):
            noun = "person" if isinstance(qualifier, Person) else qualifier.noun
            value = {**ID, "description": f"the id of a {noun}"}
        elif qualifier.choices:
            value = {"type": "string", "enum": list(qualifier.choices)}
        else:
            value = {"type": "string"}
        parameters.append(
            {
                "name": qualifier.param,
                "in": "query",
                "style": "form",
                "explode": True,
                "description": (
                    f"The `{qualifier.key}:` filter of the search box, by URL; repeat it for "
                    "several values."
                ),
                "schema": {"type": "array", "items": value},
            }
        )
    if filters.days is not None:
        for name, bound in (("from", "first"), ("to", "last")):
            parameters.append(
                {
                    "name": name,
                    "in": "query",
                    "description": f"The {bound} day (in the person's time zone), 2026-01-31.",
                    "schema": {"type": "string", "format": "date"},
                }
            )
    keys = ", ".join(f"{key}:" for key in filters.keys)
    parameters.append(
        {
            "name": "q",
            "in": "query",
            "description": (
                f'The search box: words, "phrases" and {keys} terms; -term excludes '
                "(docs/search.md)."
            ),
            "schema": {"type": "string", "maxLength": MAX_QUERY},
        }
    )
    return parameters


PAGING_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "description": (
            f"Rows per page, 1 to {read.MAX_LIMIT} (default {read.DEFAULT_LIMIT}); refused "
            "with a CSV or JSON Lines download, which holds every row."
        ),
        "schema": {"type": "integer", "minimum": 1, "maximum": read.MAX_LIMIT},
    },
    {
        "name": "after",
        "in": "query",
        "description": (
            "The cursor: rows older than this id (read it from `next`; for a download cut "
            "short, the last id received)."
        ),
        "schema": ID,
    },
]


# Schemas ----------------------------------------------------------------------------------

JSON_OBJECT = {"type": "object"}
PROBLEM_SCHEMA = {
    "type": "object",
    "description": "A refusal (RFC 9457), naming each field refused in `errors`.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "item": {"type": "integer", "description": "The index in a batch."},
                },
            },
        },
    },
}
ROW_SCHEMA = {
    "type": "object",
    "description": "One row as the tab shows it; times in ISO 8601 UTC (2026-12-03T18:20:00Z).",
    "required": ["id"],
    "properties": {"id": {"type": "integer"}},
}
PAGE_SCHEMA = {
    "type": "object",
    "required": ["data", "next"],
    "properties": {
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}},
        "next": {"type": ["string", "null"], "description": "The next page's URL, or null."},
    },
}
RECORD_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"$ref": "#/components/schemas/Row"}},
}
AS2_ITEM = {
    "type": "object",
    "required": ["id", "type", "actor", "object", "published"],
    "properties": {
        "type": {"type": "string"},
        "actor": {"type": "object"},
        "object": {"type": "object"},
        "target": {"type": "object"},
        "published": {"type": "string"},
    },
}
AS2_PAGE = {
    "type": "object",
    "required": ["@context", "type", "orderedItems"],
    "properties": {
        "@context": {"const": read.AS2_CONTEXT},
        "type": {"const": "OrderedCollectionPage"},
        "orderedItems": {"type": "array", "items": AS2_ITEM},
        "next": {"type": "string"},
    },
}


EXPORT_FORMATS = {
    "csv": (
        "CSV (RFC 4180, UTF-8 with a byte order mark): a header row, then one row per record; "
        "each time column is followed by `<name>_local`, in the person's time zone."
    ),
    "jsonl": "JSON Lines: one row (as a page's `data` holds it) per line.",
}


def _json(description, schema):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problems(*statuses):
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        str(status): {"description": TITLES[status], "content": {PROBLEM: problem}}
        for status in statuses
    }
