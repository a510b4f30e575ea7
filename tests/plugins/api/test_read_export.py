"""A list read as CSV or JSON Lines through the API: the tab's export, asked for by ``Accept``,
holding exactly the rows the JSON pages list for the same filters and token, behind the same
gate, recorded, resumable with ``after`` and never cut by ``limit``. SQLite and PostgreSQL."""

import csv
import io
import json
from urllib.parse import urlencode

import pytest

from core.db import database
from core.events import ActivityEvent
from plugins.api.tokens import ApiToken
from plugins.settings.models import TabGrant
from tests.plugins.api.test_read import api
from tests.plugins.api.test_read import grant
from tests.plugins.api.test_read import local

PROBLEM = "application/problem+json"
CSV = "text/csv"
JSONL = "application/x-ndjson"
AS2 = "application/activity+json"


def export(client, token, tab, media_type, **params):
    """Return the export of ``tab`` asked for as ``media_type`` (read to its end)."""
    headers = {"Accept": media_type}
    response = api(client, token, f"/api/v1/{tab}", headers=headers, query_string=params)
    response.get_data()  # to its end: the export is recorded when its stream ends
    return response


def page_ids(client, token, tab, **params):
    """Return the ids of every row the JSON pages list, in order."""
    return [row["id"] for row in page_data(client, token, tab, **params)]


def jsonl_rows(response):
    """Return the rows of a JSON Lines answer."""
    assert response.status_code == 200 and response.mimetype == JSONL, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def csv_rows(response):
    """Return the rows of a CSV answer as dicts, as Python's csv module reads a file."""
    assert response.status_code == 200 and response.mimetype == CSV, response.text
    text = response.data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def same_cell(text, value):
    """Tell whether a CSV cell's ``text`` holds a row's ``value``: nested values as JSON text,
    a text that a spreadsheet would run as a formula behind a ``'``, None empty."""
    if isinstance(value, dict | list):
        return json.loads(text) == value
    if value is None:
        return text == ""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return text == "'" + value
    return text == str(value)


def page_data(client, token, tab, **params):
    """Return every row the JSON pages list (pages of 7, to walk a few), as their ``data``
    holds them, in order."""
    rows, url = [], f"/api/v1/{tab}?{urlencode({**params, 'limit': 7})}"
    # A list read over the API is recorded, once an hour per query: read it once first, so
    # the walk lists that record and adds none.
    api(client, token, url)
    while url:
        answer = api(client, token, url)
        assert answer.status_code == 200, answer.text
        rows += answer.json["data"]
        url = local(answer.json["next"]) if answer.json["next"] else None
    return rows


@pytest.fixture
def world(app, people):
    """Rows on the other tabs: a Private Message, a few failed sign-ins, invoices (when the
    example plugin is installed)."""
    from core.testing import sign_in
    from tests.examples import workspace

    send = workspace("messages").send_private_message
    admin, pm = people["admin@example.com"], people["pm@example.com"]
    with app.app_context(), database.atomic():
        send(admin, [people["owner@example.com"]], "=1+1 is a formula", "Hi")
        try:
            from activity_stream_invoices import record_invoice
        except ImportError:
            pass
        else:
            for number in range(3):
                record_invoice(admin, pm, f"INV-{number}", "Acme", 100)
    for password in ("wrong", "wrong", "demo-password"):
        sign_in(app.test_client(), "teammate@example.com", password)


CASES = [
    ("activity", "admin@example.com", {}),
    ("activity", "admin@example.com", {"q": "-actor:priya type:task"}),
    ("activity", "teammate@example.com", {}),  # related: fewer rows than the Admin's
    ("activity", "teammate@example.com", {"q": "actor:avery"}),
    ("email", "admin@example.com", {}),
    ("logins", "admin@example.com", {"q": "-outcome:signed_in"}),
    ("invoices", "owner@example.com", {}),  # a plugin's tab
]


@pytest.mark.parametrize(("tab", "email", "filters"), CASES)
def test_csv_and_json_lines_hold_exactly_the_rows_the_pages_list(
    app, client, token_for, events, world, tab, email, filters
):
    if tab == "invoices":
        pytest.importorskip("activity_stream_invoices")
    grant(app, "activity", "Teammate")
    token = token_for(email)
    # Each export is recorded: the pages are read again before each, as the next may list it.
    pages = page_data(client, token, tab, **filters)
    assert pages, "each case must list something"
    assert jsonl_rows(export(client, token, tab, JSONL, **filters)) == pages
    pages = page_data(client, token, tab, **filters)
    rows = csv_rows(export(client, token, tab, CSV, **filters))
    assert [int(row["id"]) for row in rows] == [row["id"] for row in pages]
    for row, paged in zip(rows, pages, strict=True):
        for key, value in paged.items():
            if not (isinstance(value, str) and value.endswith("Z") and value[:4].isdigit()):
                assert same_cell(row[key], value), (key, row[key], value)
            else:  # a time: UTC, then the same moment in the person's zone
                assert row[key] == value and row[f"{key}_local"], key


def test_a_less_privileged_token_exports_fewer_rows(app, client, token_for, events):
    grant(app, "activity", "Teammate")
    admin, teammate = token_for("admin@example.com"), token_for("teammate@example.com")
    paged = page_ids(client, teammate, "activity")  # before the export, which is recorded
    related = [row["id"] for row in jsonl_rows(export(client, teammate, "activity", JSONL))]
    everything = [row["id"] for row in jsonl_rows(export(client, admin, "activity", JSONL))]
    assert related == paged
    assert set(related) < set(everything)
    assert events["task1"] in related and events["task0"] not in related
    assert events["task0"] in everything


def test_a_person_who_loses_the_tab_gets_403_on_the_export(app, client, token_for, events):
    token = token_for("teammate@example.com")
    for media_type in (CSV, JSONL):
        refused = export(client, token, "activity", media_type)
        assert refused.status_code == 403 and refused.mimetype == PROBLEM
    grant_id = grant(app, "activity", "Teammate")
    assert export(client, token, "activity", CSV).status_code == 200
    with app.app_context():
        TabGrant.delete_by_id(grant_id)
    for media_type in (CSV, JSONL):
        refused = export(client, token, "activity", media_type)
        assert refused.status_code == 403 and refused.mimetype == PROBLEM
        assert "activity" in refused.json["detail"]
    # Nor may a token of the other scope export, nor a tab without a list be exported.
    writer = token_for("admin@example.com", scope="events:write")
    assert export(client, writer, "activity", CSV).status_code == 403
    assert export(client, token_for("owner@example.com"), "settings", CSV).status_code == 404


def test_limit_is_refused_and_each_refusal_is_named(client, token_for, events):
    token = token_for("admin@example.com")
    for media_type in (CSV, JSONL):
        refused = export(client, token, "activity", media_type, limit="10")
        assert refused.status_code == 422 and refused.mimetype == PROBLEM
        assert [error["field"] for error in refused.json["errors"]] == ["limit"]
    both = export(client, token, "email", CSV, limit="5", status="lost", colour="red")
    assert both.status_code == 422
    assert {error["field"] for error in both.json["errors"]} == {"limit", "status", "colour"}
    bad = export(client, token, "activity", JSONL, after="x")
    assert [error["field"] for error in bad.json["errors"]] == ["after"]
    with database.connection_context():
        assert not ActivityEvent.select().where(ActivityEvent.verb == "tab.exported").exists()


def test_after_resumes_an_export_below_that_id(client, token_for, events):
    token = token_for("admin@example.com")
    ids = page_ids(client, token, "activity")
    cut = ids[4]  # the last id a download cut short had received
    resumed = [row["id"] for row in jsonl_rows(export(client, token, "activity", JSONL, after=cut))]
    assert resumed == [i for i in ids if i < cut] and resumed
    rows = csv_rows(export(client, token, "activity", CSV, after=cut, q="type:task"))
    assert [int(row["id"]) for row in rows] == [
        i for i in page_ids(client, token, "activity", q="type:task") if i < cut
    ]


def test_the_export_is_recorded_with_the_token_that_asked(app, client, people, token_for, events):
    token = token_for("admin@example.com")
    rows = jsonl_rows(export(client, token, "activity", JSONL, q="actor:avery"))
    with app.app_context():
        (event,) = ActivityEvent.select().where(ActivityEvent.verb == "tab.exported")
        token_id = ApiToken.get().id
    changes = json.loads(event.changes)
    assert (event.object_type, event.object_id) == ("tab", "activity")
    assert changes["format"] == [None, "jsonl"] and changes["rows"] == [None, len(rows)] and rows
    assert changes["outcome"] == [None, "complete"] and changes["query"] == [None, "actor:avery"]
    assert event.recorded_via == f"api_token:{token_id}"
    assert event.actor_id == people["admin@example.com"].id


ACCEPTS = [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("image/png", "application/json"),  # unknown: JSON, as ever
    ("text/csv", CSV),
    ("text/csv; charset=utf-8", CSV),  # a parameter does not hide the type
    ("application/json; charset=utf-8, text/csv;q=0.5", "application/json"),
    ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', AS2),
    ("application/x-ndjson", JSONL),
    ("application/json, text/csv", "application/json"),  # a tie: the page
    ("text/csv;q=0.5, application/json", "application/json"),
    ("application/json;q=0.5, text/csv", CSV),
    ("text/csv;q=0.5, application/x-ndjson", JSONL),
    ("application/activity+json, text/csv;q=0.9", AS2),
    ("text/csv, application/activity+json;q=0.9", CSV),
]


@pytest.mark.parametrize(("accept", "mimetype"), ACCEPTS)
def test_accept_chooses_the_page_or_the_export(client, token_for, events, accept, mimetype):
    headers = {"Accept": accept} if accept else {}
    answer = api(client, token_for("admin@example.com"), "/api/v1/activity", headers=headers)
    answer.get_data()
    assert answer.status_code == 200 and answer.mimetype == mimetype, answer.text
    assert "Accept" in answer.vary
    disposition = answer.headers.get("Content-Disposition", "")
    if mimetype in (CSV, JSONL):
        extension = "csv" if mimetype == CSV else "jsonl"
        assert disposition.startswith('attachment; filename="activity-')
        assert disposition.endswith(f'.{extension}"')
    else:
        assert not disposition


def test_every_list_tab_exports_but_a_record_stays_json(client, token_for, events, world):
    token = token_for("owner@example.com")
    for tab in ("email", "logins", "invoices"):  # no 406: a download is not Activity Streams
        assert export(client, token, tab, CSV).status_code == 200, tab
    one = api(client, token, f"/api/v1/activity/{events['task1']}", headers={"Accept": CSV})
    assert one.status_code == 200 and one.mimetype == "application/json"
