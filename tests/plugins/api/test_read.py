"""Reading the tabs through the API: the same rows, filters, refusals, scope and secrecy as the
UI, keyset pages linked by ``Link``, Activity Streams for the Activity tab. SQLite and
PostgreSQL."""

import re
from urllib.parse import urlsplit

import pytest
from markupsafe import escape

from core.db import database
from core.people import Role
from core.people import Team
from core.testing import rows_seen_by
from core.testing import sign_in
from plugins.settings.models import TabGrant
from tests.examples import workspace
from tests.plugins.api.conftest import bearer

PROBLEM = "application/problem+json"
AS2 = "application/activity+json"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
send_private_message = workspace("messages").send_private_message


def api(client, token, url, **options):
    """GET ``url`` with ``token``; return the response."""
    headers = {**bearer(token), **options.pop("headers", {})}
    return client.get(url, headers=headers, **options)


def local(url):
    """Return the path and query of an absolute URL the API gave (the test client's form)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def walk(client, token, url):
    """Follow ``Link: rel="next"`` from ``url``; return every page's ids, page by page."""
    pages = []
    while url:
        answer = api(client, token, url)
        assert answer.status_code == 200, answer.text
        pages.append([row["id"] for row in answer.json["data"]])
        link = answer.headers.get("Link")
        assert (link is None) == (answer.json["next"] is None)
        if link:
            assert link == f'<{answer.json["next"]}>; rel="next"'
        url = local(answer.json["next"]) if answer.json["next"] else None
    return pages


def grant(app, tab, role_name):
    """Grant ``tab`` to the role ``role_name`` (its scope stays the default: related)."""
    with app.app_context():
        return TabGrant.create(tab=tab, role=Role.get(Role.name == role_name)).id


def test_pages_are_linked_and_hold_every_row_once(app, client, token_for, events):
    token = token_for("admin@example.com")
    api(client, token, "/api/v1/activity")  # recorded, once an hour per query: the rest adds none
    everything = api(client, token, "/api/v1/activity?limit=200").json["data"]
    pages = walk(client, token, "/api/v1/activity?limit=4")
    assert [len(page) for page in pages[:-1]] == [4] * (len(pages) - 1) and len(pages) >= 3
    ids = [row_id for page in pages for row_id in page]
    assert ids == [row["id"] for row in everything] == sorted(ids, reverse=True)
    assert len(set(ids)) == len(ids) and set(events.values()) <= set(ids)
    assert ids == rows_seen_by(app, "admin@example.com", "activity")
    # The filters ride along: a page of a search links to the next page of the same search.
    api(client, token, "/api/v1/activity?q=actor:avery")  # its read is recorded, and listed
    filtered = walk(client, token, "/api/v1/activity?limit=2&q=actor:avery")
    assert [i for page in filtered for i in page] == rows_seen_by(
        app, "admin@example.com", "activity", q="actor:avery"
    )


def test_rows_are_plain_data_with_utc_dates(client, token_for, events):
    answer = api(client, token_for("admin@example.com"), "/api/v1/activity?limit=1")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    (row,) = answer.json["data"]
    assert ISO_UTC.match(row["occurred_at"])
    fields = {"id", "occurred_at", "actor", "verb", "action", "object", "target", "summary"}
    assert set(row) == fields
    assert set(row["actor"]) == {"id", "name", "role", "external_id"} and "changes" not in row


FILTERED = [
    ("activity", "admin@example.com", {"q": "actor:priya"}),
    ("activity", "admin@example.com", {"q": "-actor:priya type:task"}),
    ("activity", "admin@example.com", {"type": "team"}),
    ("activity", "admin@example.com", {"q": "created:>2020-01-01 task"}),
    ("activity", "teammate@example.com", {"q": "actor:avery"}),
    ("email", "admin@example.com", {"q": "to:morgan"}),
    ("email", "admin@example.com", {"status": "kept"}),
    ("logins", "admin@example.com", {"outcome": "wrong_password"}),
    ("logins", "admin@example.com", {"q": "user:dana -outcome:signed_in"}),
]


@pytest.mark.parametrize(("tab", "email", "filters"), FILTERED)
def test_filters_and_the_search_box_find_what_the_ui_shows(
    app, client, people, token_for, events, tab, email, filters
):
    grant(app, "activity", "Teammate")
    with app.app_context(), database.atomic():
        send_private_message(people["admin@example.com"], [people["owner@example.com"]], "Hi", "x")
    for password in ("wrong", "wrong", "demo-password"):
        sign_in(app.test_client(), "teammate@example.com", password)
    seen = rows_seen_by(app, email, tab, **filters)
    answer = api(client, token_for(email), f"/api/v1/{tab}", query_string=filters)
    assert answer.status_code == 200, answer.text
    assert [row["id"] for row in answer.json["data"]] == seen


def test_every_refused_parameter_and_term_is_named_as_the_ui_names_it(app, client, token_for):
    token = token_for("admin@example.com")
    query = {"from": "soon", "status": "lost", "q": "status:nope colour:red created:>tomorrow"}
    answer = api(client, token, "/api/v1/email", query_string={**query, "limit": "0"})
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    errors = answer.json["errors"]
    assert {error["field"] for error in errors} == {"from", "status", "colour", "created", "limit"}
    # The filters' refusals are the very messages the Email tab shows under its box.
    ui = app.test_client()
    sign_in(ui, "admin@example.com")
    page = ui.get("/stream/email", query_string=query)
    assert page.status_code == 400
    for error in errors:
        if error["field"] != "limit":
            assert str(escape(error["message"])) in page.text, error
    more = api(client, token, "/api/v1/logins?after=x&limit=900&limit=1&colour=red")
    assert {e["field"] for e in more.json["errors"]} == {"after", "limit", "colour"}
    # A qualifier the viewer's role may not use is refused as in the UI.
    grant(app, "activity", "Teammate")
    hidden = api(client, token_for("teammate@example.com"), "/api/v1/activity?team=1")
    assert hidden.status_code == 422
    assert hidden.json["errors"] == [
        {"field": "team", "message": "team: teams are not shown to your role"}
    ]


def test_a_tab_the_person_may_not_see_is_403_and_losing_a_grant_loses_the_api_at_once(
    app, client, token_for, events
):
    token = token_for("teammate@example.com")
    refused = api(client, token, "/api/v1/activity")
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert "activity" in refused.json["detail"]
    assert api(client, token, f"/api/v1/activity/{events['task1']}").status_code == 403
    grant_id = grant(app, "activity", "Teammate")
    assert api(client, token, "/api/v1/activity").status_code == 200
    with app.app_context():
        TabGrant.delete_by_id(grant_id)
    assert api(client, token, "/api/v1/activity").status_code == 403
    assert api(client, token, f"/api/v1/activity/{events['task1']}").status_code == 403
    contact = token_for("client@example.com")
    assert api(client, contact, "/api/v1/activity").status_code == 403


def test_unknown_tabs_tabs_without_a_list_and_other_scopes_are_refused(client, token_for):
    token = token_for("owner@example.com")
    for url in ("/api/v1/nothing", "/api/v1/settings", "/api/v1/settings/1", "/api/v1/nothing/1"):
        answer = api(client, token, url)
        assert answer.status_code == 404 and answer.mimetype == PROBLEM, url
    writer = token_for("owner@example.com", scope="events:write")
    answer = api(client, writer, "/api/v1/activity")
    assert answer.status_code == 403 and "read" in answer.json["detail"]


def test_the_related_scope_applies(app, client, token_for, events):
    grant(app, "activity", "Teammate")
    seen = api(client, token_for("teammate@example.com"), "/api/v1/activity?limit=200")
    ids = [row["id"] for row in seen.json["data"]]
    assert ids == rows_seen_by(app, "teammate@example.com", "activity")
    # To the teammate, or by a member of their team (Priya: tasks 1, 4, 7); not the others.
    related = {events[f"task{n}"] for n in (1, 3, 4, 5, 7, 9)} | {events["team"]}
    assert related <= set(ids)
    assert not {events[f"task{n}"] for n in (0, 2, 6, 8)} & set(ids)
    for n in (0, 1):
        answer = api(
            client, token_for("teammate@example.com"), f"/api/v1/activity/{events[f'task{n}']}"
        )
        assert answer.status_code == (404 if n == 0 else 200)


def test_one_record_in_full_and_a_missing_or_hidden_one_alike(app, client, token_for, events):
    grant(app, "activity", "Teammate")
    admin = token_for("admin@example.com")
    full = api(client, admin, f"/api/v1/activity/{events['team']}")
    assert full.status_code == 200
    data = full.json["data"]
    assert data["changes"]["name"] == ["Delivery", "Delivery Crew"]
    assert set(data["request"]) == {"ip", "user_agent", "id", "via"}
    assert data["request"]["via"] is None  # recorded in the app, not with a token
    teammate = token_for("teammate@example.com")
    hidden = api(client, teammate, f"/api/v1/activity/{events['task0']}")
    missing = api(client, teammate, "/api/v1/activity/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json == missing.json and hidden.mimetype == PROBLEM


def test_team_names_are_hidden_from_roles_that_may_not_see_them(app, client, token_for, events):
    grant(app, "activity", "Teammate")
    teammate, admin = token_for("teammate@example.com"), token_for("admin@example.com")
    rows = {r["id"]: r for r in api(client, teammate, "/api/v1/activity").json["data"]}
    assert rows[events["team"]]["object"]["label"] == "a team"
    assert "Delivery" not in str(rows[events["team"]])
    full = api(client, teammate, f"/api/v1/activity/{events['team']}").json["data"]
    assert full["object"]["label"] == "a team" and "Delivery" not in str(full)
    assert full["changes"]["name"] == ["a team", "a team"]
    as2 = api(client, teammate, "/api/v1/activity", headers={"Accept": AS2}).json
    assert "Delivery" not in str(as2)
    # The roles that see team names read them.
    shown = {r["id"]: r for r in api(client, admin, "/api/v1/activity").json["data"]}
    assert shown[events["team"]]["object"]["label"] == "Delivery"


def test_metadata_sent_with_an_event_on_a_team_is_left_out_where_names_are_hidden(
    app, client, token_for, people
):
    grant(app, "activity", "Teammate")
    with app.app_context():
        delivery = Team.get(Team.name == "Delivery")
    sent = {
        "actor": {"email": "admin@example.com"},
        "verb": "team.synced",
        "object": {"type": "team", "id": str(delivery.id), "label": "Delivery"},
        "audience": {"people": ["teammate@example.com"]},
        "metadata": {"source": "Delivery board"},
    }
    writer = bearer(token_for("admin@example.com", "events:write"))
    answer = client.post("/api/v1/events", json=sent, headers=writer)
    assert answer.status_code == 201, answer.text
    event_id = answer.json["data"][0]["id"]
    teammate, admin = token_for("teammate@example.com"), token_for("admin@example.com")
    hidden = api(client, teammate, f"/api/v1/activity/{event_id}").json["data"]
    assert hidden["object"]["label"] == "a team" and hidden["metadata"] is None
    assert "Delivery" not in str(hidden)
    page = app.test_client()
    sign_in(page, "teammate@example.com")
    detail = page.get(f"/stream/activity/{event_id}")
    assert detail.status_code == 200 and "Delivery" not in detail.text
    shown = api(client, admin, f"/api/v1/activity/{event_id}").json["data"]
    assert shown["metadata"] == {"source": "Delivery board"}


@pytest.fixture
def mail(app, people):
    """A notification and two Private Messages (admin to owner, pm to fox); return their ids."""
    p = {email.split("@")[0]: user for email, user in people.items()}
    with app.app_context(), database.atomic():
        workspace("services").create_task(p["pm"], title="Q4 plan", assignees=[p["teammate"]])
        send_private_message(p["admin"], [p["owner"]], "Board pack", "Draft attached")
        send_private_message(p["pm"], [p["fox"]], "Secret plan", "Between us")
    from plugins.email.models import EmailMessage

    with app.app_context():
        return {m.subject: m.id for m in EmailMessage.select()}


def test_private_messages_reach_their_parties_only(app, client, token_for, mail):
    secret = mail["Secret plan"]
    for email in ("admin@example.com", "owner@example.com"):
        token = token_for(email)
        ids = [row["id"] for row in api(client, token, "/api/v1/email").json["data"]]
        assert secret not in ids and ids == rows_seen_by(app, email, "email")
        assert api(client, token, f"/api/v1/email/{secret}").status_code == 404
        found = api(client, token, "/api/v1/email", query_string={"q": "secret"}).json["data"]
        assert found == []
    grant(app, "email", "Teammate")
    fox = token_for("fox@example.com")
    ids = [row["id"] for row in api(client, fox, "/api/v1/email").json["data"]]
    assert secret in ids
    full = api(client, fox, f"/api/v1/email/{secret}").json["data"]
    assert full["subject"] == "Secret plan" and "Between us" in full["text_body"]
    assert {"name": "Subject", "value": "Secret plan"} in full["headers"]
    listed = api(client, fox, "/api/v1/email").json["data"]
    assert "text_body" not in listed[0] and "html_body" not in listed[0]


def test_a_private_message_row_reaching_the_data_another_way_keeps_its_contents(app, people, mail):
    from plugins.email.models import EmailMessage
    from plugins.email.views import FEED

    with app.test_request_context():
        message = EmailMessage.get_by_id(mail["Secret plan"])
        (data,) = FEED.records_data(people["owner@example.com"], [message])
        assert data["subject"] is None and data["text_body"] is None and data["headers"] == []
        (own,) = FEED.records_data(people["fox@example.com"], [message])
        assert own["subject"] == "Secret plan" and "Between us" in own["text_body"]


def test_only_owners_and_admins_learn_whether_a_lock_still_holds(app, client, token_for):
    grant(app, "logins", "Teammate")
    for _ in range(6):
        sign_in(app.test_client(), "fox@example.com", "wrong")
    admin = api(client, token_for("admin@example.com"), "/api/v1/logins?outcome=account_locked")
    (lock,) = admin.json["data"]
    assert lock["lock_in_force"] is True and lock["limit"] == "Account limit"
    seen = api(client, token_for("teammate@example.com"), "/api/v1/logins?outcome=account_locked")
    (same,) = seen.json["data"]
    assert same["id"] == lock["id"] and "lock_in_force" not in same
    full = api(client, token_for("teammate@example.com"), f"/api/v1/logins/{lock['id']}")
    assert "lock_in_force" not in full.json["data"] and "user_agent" in full.json["data"]


def test_the_activity_tab_speaks_activity_streams(client, token_for, events):
    token = token_for("admin@example.com")
    page = api(client, token, "/api/v1/activity?limit=3&q=-type:api_token", headers={"Accept": AS2})
    assert page.status_code == 200 and page.mimetype == AS2
    body = page.json
    assert body["@context"] == "https://www.w3.org/ns/activitystreams"
    assert body["type"] == "OrderedCollectionPage" and len(body["orderedItems"]) == 3
    item = next(i for i in body["orderedItems"] if i["name"] == "team.updated")
    assert item["type"] == "Update" and ISO_UTC.match(item["published"])
    assert item["actor"]["type"] == "Person" and item["object"]["name"]
    assert body["next"] and page.headers["Link"] == f'<{body["next"]}>; rel="next"'
    following = api(client, token, local(body["next"]), headers={"Accept": AS2}).json
    first_ids = {i["id"] for i in body["orderedItems"]}
    assert not first_ids & {i["id"] for i in following["orderedItems"]}
    one = api(client, token, f"/api/v1/activity/{events['team']}", headers={"Accept": AS2})
    assert one.json["type"] == "Update" and one.json["@context"]
    for url in ("/api/v1/email", "/api/v1/logins"):
        refused = api(client, token, url, headers={"Accept": AS2})
        assert refused.status_code == 406 and refused.mimetype == PROBLEM
    plain = api(client, token, "/api/v1/email", headers={"Accept": f"{AS2}, */*;q=0.5"})
    assert plain.status_code == 406
    either = api(client, token, "/api/v1/email", headers={"Accept": "*/*"})
    assert either.status_code == 200 and either.mimetype == "application/json"


def test_a_plugin_tab_is_read_the_same_way(app, client, token_for, people):
    pytest.importorskip("activity_stream_invoices")
    from activity_stream_invoices import record_invoice

    with app.app_context(), database.atomic():
        for number in range(3):
            record_invoice(
                people["admin@example.com"], people["pm@example.com"], f"INV-{number}", "Acme", 100
            )
    token = token_for("owner@example.com")
    pages = walk(client, token, "/api/v1/invoices?limit=2&status=sent")
    assert [i for page in pages for i in page] == rows_seen_by(
        app, "owner@example.com", "invoices", status="sent"
    )
    (row,) = api(client, token, "/api/v1/invoices?limit=1").json["data"]
    assert row["number"] == "INV-2" and ISO_UTC.match(row["issued_at"])
    bad = api(client, token, "/api/v1/invoices?status=lost")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "status"
