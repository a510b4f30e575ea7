"""Exports (core.listing.export): the panel's rows exactly, for every viewer, filter and scope;
CSV as spreadsheets and Python read it, JSON Lines, refusals, access, the record of each
export, and a row committing during an export."""

import csv
import io
import json

import pytest

from core.db import database
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.testing import rows_seen_by
from core.testing import sign_in
from plugins.settings.models import TabGrant


@pytest.fixture
def make_app(make_app):
    """Return the app factory with every plugin: exports are tested on the real list tabs."""

    def make(plugins=(), **settings):
        settings.setdefault("PLUGINS_DISABLED", "")
        return make_app(plugins=plugins, **settings)

    return make


TRICKY = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+2",
    "-2+3",
    "@SUM(A1)",
    "\tindented",
    "\rreturned",
    'He said "hi",\nthen left; café ✓',
    "plain words",
]


def signed_in(app, email):
    """Return a test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def seed_activity(app, people):
    """Record events by several actors with several audiences (tricky summaries among them);
    grant Teammates, Project Managers and Salespeople the Activity tab (their scope:
    related). Return the event ids."""
    with app.app_context(), database.atomic():
        for role in ("Teammate", "Project Manager", "Salesperson"):
            TabGrant.create(tab="activity", role=Role.get(Role.name == role))
        actors = [people[e] for e in ("admin@example.com", "pm@example.com", "sales@example.com")]
        sales = Team.get(Team.name == "Sales")
        ids = []
        for number in range(24):
            actor = actors[number % 3]
            audience = Audience(teams={sales.id}) if number % 4 == 0 else None
            event = record_activity(
                actor,
                f"task.{('created', 'updated', 'commented')[number % 3]}",
                Ref("task", number, f"Task {number}"),
                audience=audience,
                summary=TRICKY[number % len(TRICKY)],
            )
            ids.append(event.id)
    return ids


def export(client, tab, fmt="csv", **params):
    """Return the response of ``tab``'s export with ``params`` (read to its end)."""
    return client.get(f"/stream/{tab}/export", query_string={"format": fmt, **params})


def csv_rows(response):
    """Return the rows of a CSV export as dicts, read as Python's csv module reads a file."""
    text = response.data.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def exported_ids(response):
    """Return the ids of an export's rows, in order (CSV or JSON Lines)."""
    if response.mimetype == "application/x-ndjson":
        return [json.loads(line)["id"] for line in response.text.splitlines()]
    return [int(row["id"]) for row in csv_rows(response)]


ACTIVITY_CASES = [
    ("admin@example.com", {}),
    ("admin@example.com", {"q": "action:commented"}),
    ("admin@example.com", {"q": "-action:created Task"}),
    ("pm@example.com", {"q": "team:Sales"}),
    ("pm@example.com", {}),
    ("teammate@example.com", {}),  # related: the Delivery team's events (the PM's)
    ("teammate@example.com", {"q": "action:updated"}),
    ("sales@example.com", {}),  # related: the Sales team's and their own
    ("sales@example.com", {"action": "commented"}),
]


@pytest.mark.parametrize(("email", "filters"), ACTIVITY_CASES)
def test_an_activity_export_holds_exactly_the_panels_rows(app, people, email, filters):
    seed_activity(app, people)
    client = signed_in(app, email)
    for fmt in ("csv", "jsonl"):  # each export is recorded: the second may list the first
        seen = rows_seen_by(app, email, "activity", **filters)
        assert seen, "each case must list something"
        response = export(client, "activity", fmt, **filters)
        assert response.status_code == 200, response.text
        assert exported_ids(response) == seen


def test_a_related_scope_export_leaves_out_what_the_panel_leaves_out(app, people):
    ids = seed_activity(app, people)
    teammate = exported_ids(export(signed_in(app, "teammate@example.com"), "activity"))
    admin = exported_ids(export(signed_in(app, "admin@example.com"), "activity"))
    assert set(teammate) < set(admin)
    assert set(ids) - set(teammate)  # the Sales team's and the admin's own events


@pytest.mark.parametrize(
    ("email", "filters"),
    [
        ("admin@example.com", {}),
        ("admin@example.com", {"outcome": "signed_in"}),
        ("owner@example.com", {"q": "outcome:wrong_password"}),
    ],
)
def test_a_logins_export_holds_exactly_the_panels_rows(app, people, email, filters):
    for address in ("pm@example.com", "sales@example.com"):
        assert sign_in(app.test_client(), address, "wrong").status_code != 302
    client = signed_in(app, email)
    seen = rows_seen_by(app, email, "logins", **filters)
    assert seen
    assert exported_ids(export(client, "logins", **filters)) == seen


def test_csv_is_rfc_4180_with_a_bom_and_neutralised_formulas(app, people):
    seed_activity(app, people)
    response = export(signed_in(app, "admin@example.com"), "activity")
    assert response.data.startswith(b"\xef\xbb\xbfid,")
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="activity-') and disposition.endswith(
        'Z.csv"'
    )
    body = response.data.decode("utf-8-sig")
    # Every record ends with CRLF; a newline inside a quoted cell stays as it was.
    assert body.endswith("\r\n") and body.count('then left; café ✓"\r\n') > 0
    rows = csv_rows(response)
    summaries = {row["summary"] for row in rows}
    assert "'" + TRICKY[0] in summaries and TRICKY[0] not in summaries
    for text in TRICKY[1:6]:
        assert "'" + text in summaries
    assert TRICKY[6] in summaries and TRICKY[7] in summaries  # kept as they are
    # Nested values are JSON text; each time has its UTC and its local column.
    first = rows[0]
    assert json.loads(first["actor"])["name"]
    assert first["occurred_at"].endswith("Z")
    assert first["occurred_at_local"].endswith("-05:00")  # the admin is in New York


def test_json_lines_are_one_object_per_line_unneutralised(app, people):
    seed_activity(app, people)
    response = export(signed_in(app, "admin@example.com"), "activity", "jsonl")
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('Z.jsonl"')
    lines = response.text.split("\n")
    assert lines[-1] == ""  # every object ends its line
    objects = [json.loads(line) for line in lines[:-1]]
    assert {o["summary"] for o in objects} == set(TRICKY)


def test_an_empty_export_still_has_its_header(app, people):
    seed_activity(app, people)
    response = export(signed_in(app, "admin@example.com"), "activity", q="nothingmatchesthis")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf") and csv_rows(response) == []
    jsonl = export(signed_in(app, "admin@example.com"), "activity", "jsonl", q="absentword")
    assert jsonl.status_code == 200 and jsonl.data == b""


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "colour:red"}, "colour:"),
        ({"actor": "abc"}, "actor:"),
        ({"q": "created:2026-99-01"}, "created:"),
        ({"from": "2026-13-01"}, "from:"),
        ({"format": "xml"}, "format:"),
    ],
)
def test_a_refused_filter_is_a_400_naming_it_never_the_whole_list(app, people, params, field):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    response = client.get("/stream/activity/export", query_string=params)
    assert response.status_code == 400
    assert field in response.text
    assert "attachment" not in response.headers.get("Content-Disposition", "")


def test_a_team_filter_refused_to_the_role_is_a_400(app, people):
    seed_activity(app, people)
    response = export(signed_in(app, "teammate@example.com"), "activity", q="team:Sales")
    assert response.status_code == 400 and "team:" in response.text


@pytest.mark.parametrize(
    ("email", "tab"),
    [
        ("teammate@example.com", "logins"),  # not granted
        ("sales@example.com", "email"),
        ("freelancer@example.com", "activity"),  # never reaches the stream
        ("client@example.com", "activity"),
    ],
)
def test_a_tab_the_viewer_may_not_see_is_a_403(app, people, email, tab):
    seed_activity(app, people)
    client = app.test_client()
    sign_in(client, email)
    for fmt in ("csv", "jsonl"):
        response = export(client, tab, fmt)
        assert response.status_code == 403
        assert "attachment" not in response.headers.get("Content-Disposition", "")


def test_signed_out_is_sent_to_sign_in(app, people):
    response = app.test_client().get("/stream/activity/export?format=csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_each_export_is_recorded_with_who_what_and_how_many(app, people):
    seed_activity(app, people)
    admin = people["admin@example.com"]
    client = signed_in(app, "admin@example.com")
    rows = exported_ids(export(client, "activity", "jsonl", q="team:Sales action:created"))
    with app.app_context():
        event = ActivityEvent.select().where(ActivityEvent.verb == "tab.exported").get()
        sales = Team.get(Team.name == "Sales")
    assert event.actor_id == admin.id
    assert (event.object_type, event.object_id) == ("tab", "activity")
    changes = json.loads(event.changes)
    assert changes["rows"] == [None, len(rows)] and rows
    assert changes["format"] == [None, "jsonl"]
    assert changes["outcome"] == [None, "complete"]
    # A team is recorded by id: the exporter's teammates may not read team names.
    assert changes["query"] == [None, f"action:created team:#{sales.id}"]
    assert "Sales" not in event.summary and f"{len(rows)} events as JSON Lines" in event.summary


def test_a_row_committing_during_the_export_is_not_in_it_and_none_is_twice(make_app, people):
    app = make_app(EXPORT_BATCH_ROWS=3)  # eight batches for 24 events
    ids = seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    response = client.get("/stream/activity/export?format=jsonl", buffered=False)
    chunks = iter(response.response)
    body = next(chunks)  # the first batch is out: the export's horizon is fixed
    with app.app_context():
        late = record_activity(None, "task.created", Ref("task", 99, "Late task")).id
    body += b"".join(chunks)
    response.close()
    exported = [json.loads(line)["id"] for line in body.decode().splitlines()]
    assert len(exported) == len(set(exported)) == len(ids)
    assert set(exported) == set(ids) and late not in exported
    assert exported == sorted(exported, reverse=True)


def test_an_export_cut_short_by_the_client_is_recorded_as_such(make_app, people):
    app = make_app(EXPORT_BATCH_ROWS=5)
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    response = client.get("/stream/activity/export?format=csv", buffered=False)
    next(iter(response.response))
    response.close()  # what the server does when the connection drops
    with app.app_context():
        event = ActivityEvent.select().where(ActivityEvent.verb == "tab.exported").get()
    changes = json.loads(event.changes)
    assert changes["outcome"] == [None, "aborted by the client"]
    assert changes["rows"] == [None, 5]


def test_a_plugin_tab_exports_too(app, people):
    client = signed_in(app, "owner@example.com")
    response = export(client, "invoices")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbfid")
    assert exported_ids(response) == rows_seen_by(app, "owner@example.com", "invoices")


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"])
def test_local_times_match_the_zone_across_its_changes(zone):
    """The per-minute cache of local times agrees with a conversion of every moment, through
    daylight saving changes (Lord Howe's are half an hour, at half past the hour)."""
    from datetime import UTC
    from datetime import datetime
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from core.listing.export import LocalTimes

    local = LocalTimes(ZoneInfo(zone))
    for start in ("2026-03-08T05:00:00", "2026-04-04T14:00:00", "2026-10-03T15:00:00"):
        moment = datetime.fromisoformat(start).replace(tzinfo=UTC)
        for step in range(0, 3 * 3600, 37):
            at = moment + timedelta(seconds=step)
            text = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            expected = at.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")
            assert local.cell(text) == expected, text
    assert local.cell(None) == "" and local.cell("not a time") == ""
