"""Reads recorded as access events: API reads, person searches, See Message, Preview as and
exports; seen by the Super Admin and Admins only; once an hour per reader and query.
SQLite and PostgreSQL."""

import json
import threading
import time
from datetime import timedelta

import pytest

from core.db import clock_at
from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.events import Ref
from core.events.reads import ACCESS_VERBS
from core.events.reads import record_access
from core.people import Role
from core.people import User
from core.testing import rows_seen_by
from plugins.api.tokens import create_token
from plugins.email import outbox
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def token_of(app, people, email):
    """Return a read token of ``email``."""
    with app.app_context(), database.atomic():
        return create_token(people[email], "reads", "read", by=None)[1]


def reads(app, verb=None):
    """Return the access events recorded, oldest first, as ``(actor, verb, object id, summary)``."""
    with app.app_context():
        query = ActivityEvent.select().where(
            ActivityEvent.verb.in_([verb] if verb else ACCESS_VERBS)
        )
        return [
            (e.actor_name, e.verb, e.object_id, e.summary) for e in query.order_by(ActivityEvent.id)
        ]


def access_ids(app):
    """Return the ids of the access events, oldest first."""
    with app.app_context():
        query = ActivityEvent.select(ActivityEvent.id).where(ActivityEvent.verb.in_(ACCESS_VERBS))
        return [row.id for row in query.order_by(ActivityEvent.id)]


def see_everything(app, role_name):
    """Grant Activity to ``role_name`` with the "all" scope."""
    with app.app_context():
        role = Role.get(Role.name == role_name)
        TabGrant.create(tab="activity", role=role)
        RoleScope.create(role=role, tab="activity", scope="all")


def test_api_reads_are_recorded_once_an_hour_per_query(app, people):
    token = token_of(app, people, "admin@example.com")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):  # one walk of pages, read three times
        assert client.get("/api/v1/logins?limit=1", headers=headers).status_code == 200
        assert client.get("/api/v1/logins?limit=1&after=999", headers=headers).status_code == 200
    assert client.get("/api/v1/logins?q=outcome:signed_in", headers=headers).status_code == 200
    recorded = reads(app, "tab.read")
    assert recorded == [
        ("Avery Chen", "tab.read", "logins", "through the API, unfiltered"),
        ("Avery Chen", "tab.read", "logins", "through the API, filtered by outcome:signed_in"),
    ]
    # An hour later the same read is recorded again.
    with app.app_context(), clock_at(utcnow() + timedelta(hours=1, seconds=1)):
        assert client.get("/api/v1/logins", headers=headers).status_code == 200
    assert len(reads(app, "tab.read")) == 3


def test_a_read_of_one_record_over_the_api_is_recorded(app, people):
    token = token_of(app, people, "owner@example.com")
    with app.app_context():
        any_event = ActivityEvent.select().order_by(ActivityEvent.id).first()
    answer = app.test_client().get(
        f"/api/v1/activity/{any_event.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    assert reads(app, "tab.read") == [
        ("Morgan Reyes", "tab.read", "activity", f"record #{any_event.id} through the API")
    ]


def test_access_events_are_seen_by_the_owner_and_admins_only(app, people):
    see_everything(app, "Project Manager")  # every row of Activity: but not the reads
    with app.app_context():
        TabGrant.create(tab="activity", role=Role.get(Role.name == "Teammate"))  # related rows
    token = token_of(app, people, "teammate@example.com")  # a teammate's own read
    app.test_client().get("/api/v1/activity", headers={"Authorization": f"Bearer {token}"})
    admin = client_for(app, "admin@example.com")
    admin.get("/stream/activity", query_string={"q": "actor:dana"})  # a person search
    recorded = access_ids(app)
    assert len(recorded) == 2
    for email in ("owner@example.com", "admin@example.com"):
        assert set(recorded) <= set(rows_seen_by(app, email, "activity"))
    for email in ("pm@example.com", "teammate@example.com"):
        assert not set(recorded) & set(rows_seen_by(app, email, "activity"))
    # The same through every other way of reading the tab: the API, an export, the detail.
    pm = token_of(app, people, "pm@example.com")
    headers = {"Authorization": f"Bearer {pm}"}
    listed = app.test_client().get("/api/v1/activity?limit=200", headers=headers).json["data"]
    assert listed and not {row["id"] for row in listed} & set(recorded)
    exported = app.test_client().get(
        "/api/v1/activity", headers={**headers, "Accept": "application/x-ndjson"}
    )
    exported_ids = {json.loads(line)["id"] for line in exported.text.splitlines()}
    assert exported.status_code == 200 and exported_ids and not exported_ids & set(recorded)
    for event_id in recorded:
        answer = app.test_client().get(f"/api/v1/activity/{event_id}", headers=headers)
        assert answer.status_code == 404
        assert (
            client_for(app, "pm@example.com").get(f"/stream/activity/{event_id}").status_code == 404
        )


def test_a_search_for_one_person_is_recorded_once_for_the_page_and_its_fragments(app, people):
    admin = client_for(app, "admin@example.com")
    admin.get("/stream/activity", query_string={"q": "type:task"})  # about no one: not recorded
    admin.get("/stream/logins", query_string={"q": "user:dana"})
    for cursor in (50, 40, 30):  # scrolling the same search
        admin.get(
            "/stream/logins/rows",
            query_string={"q": "user:dana", "after": cursor},
            headers={"HX-Request": "true"},
        )
    admin.get("/stream/activity", query_string={"q": "Priya Patel"})  # a whole name, as words
    admin.get("/stream/email", query_string={"q": "-to:priya"})  # an exclusion names no one read
    assert [(verb, tab, summary) for _, verb, tab, summary in reads(app, "tab.searched")] == [
        ("tab.searched", "logins", "for user:dana"),
        ("tab.searched", "activity", "for Priya Patel"),
    ]


def test_see_message_is_recorded_once_an_hour_per_message(app, people):
    with app.app_context(), app.test_request_context():
        (message_id,) = outbox.queue(
            [
                {
                    "kind": "test.note",
                    "private": True,
                    "sender_id": people["pm@example.com"].id,
                    "sender_name": "Priya Patel",
                    "recipient": people["owner@example.com"],
                    "subject": "Salary review",
                    "text_body": "Between us",
                    "html_body": "<p>Between us</p>",
                }
            ]
        )
    owner = client_for(app, "owner@example.com")
    for _ in range(2):
        assert (
            owner.get(f"/stream/email/{message_id}", headers={"HX-Request": "true"}).status_code
            == 200
        )
        assert owner.get(f"/stream/email/{message_id}/body").status_code == 200
    # Refused, it is not recorded: a private message is its parties' alone.
    intruder = client_for(app, "admin@example.com")
    assert intruder.get(f"/stream/email/{message_id}/body").status_code == 404
    assert intruder.get(f"/stream/email/{message_id}").status_code == 404
    (read,) = reads(app, "email.read")
    assert read[:3] == ("Morgan Reyes", "email.read", str(message_id))
    with app.app_context():
        event = ActivityEvent.get(ActivityEvent.verb == "email.read")
    assert event.object_label == "a private message"  # its subject is the parties' alone


def test_preview_as_and_exports_are_recorded_every_time(app, people):
    admin = client_for(app, "admin@example.com")
    token = csrf_token_of(admin)
    with app.app_context():
        teammate = User.get(User.email == "teammate@example.com").id
    for _ in range(2):
        answer = admin.post(
            "/stream/settings/preview", data={"user": teammate, "csrf_token": token}
        )
        assert answer.status_code == 200
        assert admin.get("/stream/logins/export?format=csv").status_code == 200
    verbs = [verb for _, verb, _, _ in reads(app)]
    assert verbs.count("settings.previewed") == 2 and verbs.count("tab.exported") == 2


def test_access_events_relate_to_no_one(app, people):
    with app.app_context(), database.atomic():
        event = record_access(
            people["pm@example.com"], "tab.searched", Ref("tab", "logins", "Logins")
        )
    with app.app_context():
        from core.events import ActivityAudience

        assert not ActivityAudience.select().where(ActivityAudience.event == event.id).exists()
    with pytest.raises(ValueError, match="not a read"), app.app_context():
        record_access(people["pm@example.com"], "task.updated", Ref("task", 1, "T"))


def test_a_read_while_the_same_read_is_being_recorded_waits_for_it(app, people):
    # The first reader's transaction stays open after its record; the second, the same read,
    # must wait for it to end and then find it, not record a second one.
    reader = people["admin@example.com"]
    recorded, errors = threading.Event(), []

    def first():
        try:
            with app.app_context(), database.atomic():
                record_access(reader, "tab.read", Ref("tab", "logins", "Logins"))
                recorded.set()
                time.sleep(0.5)
        except Exception as error:
            errors.append(error)
            recorded.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert recorded.wait(timeout=10)
    with app.app_context():
        second = record_access(reader, "tab.read", Ref("tab", "logins", "Logins"))
    thread.join(timeout=30)
    assert not errors and second is None
    assert len(reads(app, "tab.read")) == 1


def test_the_ingest_api_refuses_the_verbs_of_reads(app, people):
    with app.app_context(), database.atomic():
        token = create_token(people["admin@example.com"], "writer", "events:write", by=None)[1]
    answer = app.test_client().post(
        "/api/v1/events",
        json={
            "actor": {"id": "x", "name": "X"},
            "verb": "tab.exported",
            "object": {"type": "tab", "id": "activity"},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422 and "kept for the stream's own records of reads" in answer.text
