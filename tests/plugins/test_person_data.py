"""Manage People's "Export everything about this person": one JSON Lines bundle of a person's
account, events (as actor and as audience), sign-ins, sessions and mail, without anyone
else's private messages or any session secret; for the Super Admin and Admins only, recorded
as an access event. SQLite and PostgreSQL."""

import json
from datetime import datetime

import pytest

from core import hookimpl
from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.events import team_party
from core.events.reads import record_access
from core.people import Role
from core.people import Team
from core.testing import rows_seen_by
from plugins.email import outbox
from plugins.email import person_data as email_data
from plugins.people import person_data
from plugins.people import person_views
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace

services = workspace("services")
send_private_message = workspace("messages").send_private_message

RESET_LINK = "https://example.com/password/SECRET-LINK-TOKEN"


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def export(client, person_id, **options):
    """POST the export of ``person_id`` as ``client``; return the response."""
    return client.post(
        f"/people/{person_id}/export", data={"csrf_token": csrf_token_of(client)}, **options
    )


def lines_of(response):
    """Return the bundle's lines, each parsed (a line that is not JSON fails the test)."""
    assert response.text.endswith("\n")
    return [json.loads(line) for line in response.text.splitlines()]


def of_kind(lines, kind):
    """Return the lines of ``kind``."""
    return [line for line in lines if line["kind"] == kind]


def ids_of(sql, *params):
    """Return the set of ids a raw SQL query selects (``?`` marks the parameters)."""
    sql = sql.replace("?", database.param)
    return {row[0] for row in database.execute_sql(sql, params).fetchall()}


@pytest.fixture
def world(app, people):
    """Events, mail and sign-ins around Dana Scully (teammate) and others; return the people
    by their address's first part."""
    p = {email.split("@")[0]: user for email, user in people.items()}
    dana, fox, admin, pm = p["teammate"], p["fox"], p["admin"], p["pm"]
    with app.app_context():
        services.create_task(pm, title="Q4 plan", assignees=[dana])  # mail from pm to Dana
        services.create_document(p["sales"], title="Price list", shared_with=[p["client"]])
        send_private_message(pm, [dana], "For Dana", "Just you")
        send_private_message(dana, [fox], "From Dana", "Hello Fox")
        send_private_message(pm, [fox], "Secret plan", "Between us")  # neither from nor to her
        send_private_message(admin, [p["owner"]], "Board pack", "Draft attached")
        with database.atomic():
            outbox.queue(
                [
                    {
                        "kind": "user.reset",
                        "private": True,
                        "sender_id": None,
                        "sender_name": "",
                        "recipient": dana,
                        "subject": "Reset your password",
                        "text_body": f"Choose a new password: {RESET_LINK}",
                        "html_body": f'<a href="{RESET_LINK}">Choose a new password</a>',
                    }
                ]
            )
        record_activity(dana, "note.created", Ref("note", 1, "Her own note"))
        record_activity(
            admin, "note.shared", Ref("note", 2, "Shared with her"), audience=Audience({dana.id})
        )
        record_activity(
            dana,
            "note.pinned",
            Ref("note", 3, "Hers, naming her"),
            changes={"pinned": [False, True]},
            audience=Audience({dana.id}),
            metadata={"source": "test"},
        )
        record_activity(
            admin, "note.shared", Ref("note", 4, "Fox's alone"), audience=Audience({fox.id})
        )
        record_activity(pm, "note.created", Ref("note", 5, "The team's, through Priya"))
        # An access event has no audience at all: hers as its actor only.
        record_access(dana, "tab.read", Ref("tab", "activity", "Activity"), once_within=None)
    for _ in range(2):
        sign_in(app.test_client(), "teammate@example.com")
    sign_in(app.test_client(), "teammate@example.com", "not-her-password")
    sign_in(app.test_client(), "fox@example.com")
    return p


def test_the_bundle_holds_exactly_the_person_s_records(app, world):
    dana = world["teammate"]
    response = export(client_for(app, "admin@example.com"), dana.id)
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    with app.app_context():
        day = f"{utcnow():%Y%m%d}"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="person-{dana.id}-{day}.jsonl"'
    )
    lines = lines_of(response)
    head = lines[0]
    assert head["kind"] == "person" and of_kind(lines, "person") == [head]
    assert (head["id"], head["email"], head["role"], head["teams"]) == (
        dana.id,
        "teammate@example.com",
        "Teammate",
        ["Delivery"],
    )
    assert head["exported_by"] == {"id": world["admin"].id, "name": "Avery Chen"}
    assert head["created_at"].endswith("Z") and head["exported_at"].endswith("Z")
    assert "password_hash" not in head and "session_generation" not in head
    with app.app_context():
        acted = ids_of("SELECT id FROM activity_event WHERE actor_id = ?", dana.id)
        named = ids_of("SELECT event_id FROM activity_audience WHERE party = ?", 2 * dana.id)
        sign_ins = ids_of("SELECT id FROM sign_in_attempt WHERE user_id = ?", dana.id)
        sessions = ids_of("SELECT id FROM user_session WHERE user_id = ?", dana.id)
        mail = ids_of(
            "SELECT id FROM email_message WHERE sender_id = ? OR recipient_id = ?", dana.id, dana.id
        )
        hashes = ids_of("SELECT token_hash FROM user_session")
        delivery = Team.get(Team.name == "Delivery").id
        through_team = ids_of(
            "SELECT e.id FROM activity_event e JOIN activity_audience a ON a.event_id = e.id "
            "WHERE a.party = ? AND e.object_label = ?",
            team_party(delivery),
            "The team's, through Priya",
        )
    assert through_team  # her team's, so not hers
    events = of_kind(lines, "event")
    assert [e["id"] for e in events] == sorted(acted | named)  # each once, by id
    assert {e["id"]: e["as"] for e in events} == {
        i: "actor" if i in acted else "audience" for i in acted | named
    }
    labels = {e["object_label"]: e for e in events}
    assert labels["Her own note"]["as"] == "actor" and labels["Shared with her"]["as"] == "audience"
    pinned = labels["Hers, naming her"]
    assert pinned["as"] == "actor" and pinned["changes"] == {"pinned": [False, True]}
    assert pinned["metadata"] == {"source": "test"} and pinned["occurred_at"].endswith("Z")
    assert labels["Activity"]["verb"] == "tab.read" and labels["Activity"]["as"] == "actor"
    assert "Fox's alone" not in labels and "The team's, through Priya" not in labels
    # Sign-ins and sessions: hers only, and never a session's secret.
    assert {row["id"] for row in of_kind(lines, "sign_in")} == sign_ins and len(sign_ins) >= 3
    assert {row["user_id"] for row in of_kind(lines, "sign_in") + of_kind(lines, "session")} == {
        dana.id
    }
    assert {row["id"] for row in of_kind(lines, "session")} == sessions and len(sessions) == 2
    assert "token_hash" not in response.text
    assert hashes and not any(token_hash in response.text for token_hash in hashes)
    # Mail: to and from her, her private messages included, nobody else's.
    emails = of_kind(lines, "email")
    assert {m["id"] for m in emails} == mail
    subjects = {m["subject"]: m for m in emails}
    assert {"For Dana", "From Dana", "Task assigned to you: Q4 plan"} <= set(subjects)
    assert subjects["For Dana"]["text_body"] and "Just you" in subjects["For Dana"]["text_body"]
    assert subjects["From Dana"]["message_kind"] == "private_message"
    assert "Secret plan" not in response.text and "Between us" not in response.text
    assert "Board pack" not in response.text and "Price list" not in response.text
    # The platform's private mail carries what opens the account: never to the exporter.
    reset = subjects["Reset your password"]
    assert reset["text_body"] is None and reset["html_body"] is None and reset["bodies_withheld"]
    assert "SECRET-LINK-TOKEN" not in response.text
    assert [line["kind"] for line in lines] == sorted(
        (line["kind"] for line in lines),
        key=["person", "event", "sign_in", "session", "email"].index,
    )


def test_keyset_batches_give_the_same_bundle(app, world, monkeypatch):
    admin = client_for(app, "admin@example.com")
    dana = world["teammate"]
    whole = lines_of(export(admin, dana.id))[1:]
    monkeypatch.setattr(person_data, "BATCH", 2)
    monkeypatch.setattr(email_data, "BATCH", 2)
    monkeypatch.setattr(person_views, "CHUNK_LINES", 3)
    assert lines_of(export(admin, dana.id))[1:] == whole
    assert len(of_kind(whole, "event")) > 2 and len(of_kind(whole, "email")) > 2


def test_only_the_super_admin_and_admins_export(app, world):
    dana = world["teammate"]
    for email in ("owner@example.com", "admin@example.com"):
        answer = export(client_for(app, email), dana.id)
        assert answer.status_code == 200 and lines_of(answer)[0]["id"] == dana.id, email
    for email in ("pm@example.com", "teammate@example.com"):
        answer = export(client_for(app, email), dana.id)
        assert answer.status_code == 403 and answer.mimetype == "text/html", email
        assert '"kind"' not in answer.text and "teammate@example.com" not in answer.text, email
    signed_out = app.test_client()
    assert export(signed_out, dana.id).status_code in (302, 401)
    admin = client_for(app, "admin@example.com")
    assert export(admin, 987654).status_code == 404
    assert admin.get(f"/people/{dana.id}/export").status_code == 405
    assert admin.post(f"/people/{dana.id}/export").status_code == 400  # no CSRF token
    with app.app_context():
        exported = ActivityEvent.select().where(ActivityEvent.verb == "person.exported")
        assert [e.actor_name for e in exported.order_by(ActivityEvent.id)] == [
            "Morgan Reyes",
            "Avery Chen",
        ]


def test_the_export_is_recorded_once_for_the_super_admin_and_admins_only(app, world):
    dana = world["teammate"]
    with app.app_context():
        role = Role.get(Role.name == "Project Manager")
        TabGrant.create(tab="activity", role=role)
        RoleScope.create(role=role, tab="activity", scope="all")
    response = export(client_for(app, "admin@example.com"), dana.id)
    count = len(lines_of(response))
    with app.app_context():
        (event,) = ActivityEvent.select().where(ActivityEvent.verb == "person.exported")
    assert (event.actor_name, event.object_type, event.object_id, event.object_label) == (
        "Avery Chen",
        "user",
        str(dana.id),
        "Dana Scully",
    )
    assert json.loads(event.changes) == {"lines": [None, count], "outcome": [None, "complete"]}
    assert event.summary == f"{count} lines of their data as JSON Lines"
    assert event.id in rows_seen_by(app, "admin@example.com", "activity")
    assert event.id in rows_seen_by(app, "owner@example.com", "activity")
    seen_by_pm = rows_seen_by(app, "pm@example.com", "activity")
    assert seen_by_pm and event.id not in seen_by_pm
    # Each export is a file leaving the platform: the same one again is recorded again.
    assert len(lines_of(export(client_for(app, "admin@example.com"), dana.id))) == count
    with app.app_context():
        exported = ActivityEvent.select().where(ActivityEvent.verb == "person.exported")
        assert [e.changes for e in exported] == [event.changes] * 2


def test_an_export_cut_short_is_recorded_with_its_outcome(app, world, monkeypatch):
    monkeypatch.setattr(person_views, "CHUNK_LINES", 1)
    response = export(client_for(app, "admin@example.com"), world["teammate"].id, buffered=False)
    first = next(iter(response.response))
    assert json.loads(first)["kind"] == "person"
    response.close()  # the client hangs up after the first line
    with app.app_context():
        (event,) = ActivityEvent.select().where(ActivityEvent.verb == "person.exported")
    assert json.loads(event.changes)["outcome"] == [None, "aborted by the client"]
    assert event.summary.endswith("(aborted by the client)")


def test_the_person_page_offers_the_export(app, world):
    dana = world["teammate"]
    page = client_for(app, "admin@example.com").get(f"/people/{dana.id}").text
    assert 'aria-labelledby="data-title"' in page and "Their data" in page
    assert f'action="/people/{dana.id}/export"' in page
    assert "Export everything about this person" in page


class Widgets:
    """A plugin keeping ``records`` (``(kind, dict)``) about every person."""

    def __init__(self, records):
        self.records = records

    @hookimpl
    def person_records(self, person):
        """Answer this plugin's records, each naming ``person``."""
        return ((kind, {**data, "owner": person.id}) for kind, data in self.records)


def test_plugins_add_their_records_and_may_not_take_the_line_s_kind(make_app, world):
    dana = world["teammate"]
    made = datetime(2026, 1, 2, 3, 4, 5)
    good = make_app(plugins=[Widgets([("widget", {"made_at": made})])])
    lines = lines_of(export(client_for(good, "admin@example.com"), dana.id))
    assert of_kind(lines, "widget") == [
        {"kind": "widget", "made_at": "2026-01-02T03:04:05Z", "owner": dana.id}
    ]
    bad = make_app(plugins=[Widgets([("widget", {"kind": "mine"})])])
    with pytest.raises(ValueError, match="'kind' of its own"):
        export(client_for(bad, "admin@example.com"), dana.id).get_data()
    with bad.app_context():
        last = ActivityEvent.select().order_by(ActivityEvent.id.desc()).first()
    assert last.verb == "person.exported"
    assert json.loads(last.changes)["outcome"] == [None, "failed"]
