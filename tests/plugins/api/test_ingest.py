"""``POST /api/v1/events``: events from other systems land as in-app actions do, or are
refused naming the event and field; a batch is all or nothing."""

import json
from datetime import timedelta

import pytest

from core.db import database
from core.db import utcnow
from core.testing import rows_seen_by
from core.testing import sign_in
from tests.plugins.api.conftest import bearer

PROBLEM = "application/problem+json"


def event(**fields):
    """Return a valid event, with ``fields`` replacing its parts."""
    base = {
        "actor": {"email": "teammate@example.com"},
        "verb": "invoice.paid",
        "object": {"type": "invoice", "id": "INV-7", "label": "Invoice #7"},
    }
    base.update(fields)
    return base


@pytest.fixture
def writer(token_for):
    """Return the headers of an admin's ``events:write`` token."""
    return bearer(token_for("admin@example.com", "events:write"))


def post(client, headers, body, **extra):
    """POST ``body`` (JSON-encoded unless bytes) to the events URL."""
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        "/api/v1/events",
        data=data,
        headers={**headers, **extra.pop("headers", {})},
        content_type=extra.pop("content_type", "application/json"),
    )


def stored(app, ids):
    """Return the events of ``ids``, in order."""
    from core.events import ActivityEvent

    with app.app_context():
        by_id = {e.id: e for e in ActivityEvent.select().where(ActivityEvent.id.in_(ids))}
    return [by_id[i] for i in ids]


def event_count(app):
    from core.events import ActivityEvent

    with app.app_context():
        return ActivityEvent.select().where(ActivityEvent.object_type == "invoice").count()


def test_one_event_is_recorded_with_its_actor_object_changes_and_metadata(
    app, client, writer, people
):
    sent = event(
        changes={"status": ["open", "paid"]},
        target={"type": "customer", "id": 42, "label": "ACME"},
        metadata={"source_id": "evt-1", "amount": {"value": 120, "currency": "EUR"}},
        occurred_at="2026-01-02T10:00:00+01:00",
    )
    with app.app_context():
        sent["occurred_at"] = (utcnow() - timedelta(hours=2)).isoformat() + "+01:00"
    answer = post(client, writer, sent)
    assert answer.status_code == 201, answer.text
    (item,) = answer.json["data"]
    (row,) = stored(app, [item["id"]])
    assert (row.actor_id, row.actor_name, row.actor_role, row.verb, row.action) == (
        people["teammate@example.com"].id,
        people["teammate@example.com"].name,
        "Teammate",
        "invoice.paid",
        "paid",
    )
    assert (row.object_type, row.object_id, row.object_label) == ("invoice", "INV-7", "Invoice #7")
    assert (row.target_type, row.target_id, row.target_label) == ("customer", "42", "ACME")
    assert json.loads(row.changes) == {"status": ["open", "paid"]}
    assert json.loads(row.metadata)["amount"] == {"value": 120, "currency": "EUR"}
    assert row.actor_external_id is None
    # The time zone is honoured: stored as UTC, one hour before the local time sent.
    assert item["occurred_at"].startswith(row.occurred_at.isoformat()[:16])
    assert row.ip and row.request_id  # the request's context, as an in-app action has


def test_an_event_sent_over_the_api_says_which_token_recorded_it(app, client, writer, people):
    from core.events import Ref
    from core.events import record_activity
    from plugins.api.tokens import ApiToken

    answer = post(client, writer, event())
    assert answer.status_code == 201, answer.text
    (row,) = stored(app, [answer.json["data"][0]["id"]])
    with app.app_context():
        token = ApiToken.get(ApiToken.scope == "events:write")
        in_app = record_activity(people["admin@example.com"], "task.created", Ref("task", 1, "T"))
    assert row.recorded_via == f"api_token:{token.id}"
    assert in_app.recorded_via is None  # recorded outside a request: no credential
    reader = bearer(token_for_read(app, people))
    full = client.get(f"/api/v1/activity/{row.id}", headers=reader).json["data"]
    assert full["request"]["via"] == f"api_token:{token.id}"
    page = client.application.test_client()
    sign_in(page, "admin@example.com")
    assert f"api_token:{token.id}" in page.get(f"/stream/activity/{row.id}").text


def token_for_read(app, people):
    """Return a read token of the admin."""
    from plugins.api.tokens import create_token

    with app.app_context(), database.atomic():
        return create_token(people["admin@example.com"], "reader", "read", by=None)[1]


def test_an_external_actor_is_kept_by_its_id_and_name_and_relates_to_no_person(app, client, writer):
    answer = post(client, writer, event(actor={"external_id": "crm:bot-3", "name": "CRM bot"}))
    assert answer.status_code == 201, answer.text
    (row,) = stored(app, [answer.json["data"][0]["id"]])
    assert (row.actor_id, row.actor_external_id, row.actor_name) == (None, "crm:bot-3", "CRM bot")


def test_a_batch_answers_its_ids_in_order(app, client, writer):
    batch = [event(object={"type": "invoice", "id": n, "label": f"Invoice {n}"}) for n in range(5)]
    answer = post(client, writer, batch)
    assert answer.status_code == 201
    ids = [item["id"] for item in answer.json["data"]]
    assert ids == sorted(ids) and len(ids) == 5
    assert [row.object_id for row in stored(app, ids)] == ["0", "1", "2", "3", "4"]


def test_every_refusal_of_a_batch_names_its_item_and_field_and_nothing_is_recorded(
    app, client, writer
):
    with app.app_context():
        old = (utcnow() - timedelta(days=400)).isoformat() + "Z"
        ahead = (utcnow() + timedelta(hours=1)).isoformat() + "Z"
    batch = [
        event(),
        event(verb="paid"),
        event(actor={"email": "nobody@example.com"}, extra=1),
        event(object={"type": "invoice", "id": "", "label": "x"}),
        event(occurred_at="2026-01-01T10:00:00"),
        event(occurred_at=old),
        event(occurred_at=ahead),
        event(metadata={"blob": "x" * 5000}),
        event(audience={"people": [1, "fox@example.com", 999999], "teams": [999999]}),
        event(changes={"status": "paid"}, target={"type": "Bad Type", "id": 1, "label": "x"}),
        "not an event",
        event(actor={"external_id": "crm"}),
    ]
    del batch[11]["actor"]["external_id"]
    batch[11]["actor"] = {"external_id": "crm"}
    answer = post(client, writer, batch)
    assert answer.status_code == 422 and answer.mimetype == PROBLEM
    found = {(e["item"], e["field"]) for e in answer.json["errors"]}
    assert found == {
        (1, "verb"),
        (2, "extra"),
        (3, "object.id"),
        (4, "occurred_at"),
        (5, "occurred_at"),
        (6, "occurred_at"),
        (7, "metadata"),
        (8, "audience.people[2]"),
        (8, "audience.teams[0]"),
        (9, "changes.status"),
        (9, "target.type"),
        (10, ""),
        (11, "actor.name"),
    }, answer.json["errors"]
    assert "nothing was recorded" in answer.json["detail"]
    assert event_count(app) == 0
    # The actor's unknown email is named once the shapes are right.
    batch = [event(), event(actor={"email": "nobody@example.com"})]
    answer = post(client, writer, batch)
    assert answer.status_code == 422
    assert answer.json["errors"] == [
        {"field": "actor.email", "message": "no person has the email nobody@example.com", "item": 1}
    ]
    assert event_count(app) == 0


def test_one_refused_event_names_its_field_without_an_item(client, writer):
    answer = post(client, writer, event(object={"type": "invoice", "label": "x"}))
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "object.id", "message": "is required"}]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"actor": ', "application/json", 400),
        (b'{"actor": NaN}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"   ", "application/json", 400),
        (b'"an event"', "application/json", 422),
        (b"[]", "application/json", 422),
        (b"{}", "text/plain", 415),
        (b"actor=1", "application/x-www-form-urlencoded", 415),
        (b"[" + b"[" * 100_000 + b"]" * 100_000 + b"]", "application/json", 400),
    ],
)
def test_a_body_that_is_not_an_event_is_refused_as_a_problem(
    client, writer, body, content_type, status
):
    answer = post(client, writer, body, content_type=content_type)
    assert answer.status_code == status, answer.text
    assert answer.mimetype == PROBLEM and answer.json["status"] == status


def test_a_batch_over_the_limit_and_a_body_over_a_megabyte_are_refused(app, client, writer):
    answer = post(client, writer, [event()] * 1001)
    assert answer.status_code == 422 and "at most 1000" in answer.json["detail"]
    big = [event(metadata={"blob": "x" * 4000}) for _ in range(300)]  # ~1.3 MB
    assert len(json.dumps(big)) > 1024 * 1024
    answer = post(client, writer, big)
    assert answer.status_code == 413 and answer.mimetype == PROBLEM
    assert event_count(app) == 0
    fits = [event(metadata={"blob": "x" * 4000}) for _ in range(200)]  # ~0.85 MB
    assert post(client, writer, fits).status_code == 201


def test_only_a_staff_members_events_write_token_may_record(client, token_for):
    for email in ("client@example.com", "freelancer@example.com", "prospect@example.com"):
        answer = post(client, bearer(token_for(email, "events:write")), event())
        assert answer.status_code == 403 and answer.mimetype == PROBLEM, email
    answer = post(client, bearer(token_for("admin@example.com", "read")), event())
    assert answer.status_code == 403 and "events:write" in answer.json["detail"]
    assert post(client, {}, event()).status_code == 401
    for email in ("owner@example.com", "teammate@example.com", "sales@example.com"):
        answer = post(client, bearer(token_for(email, "events:write")), event())
        assert answer.status_code == 201, email


def test_a_token_over_its_rate_gets_429_with_retry_after(app, client, token_for, mid_minute):
    app.config["API_RATE_LIMIT"] = 3
    first = bearer(token_for("admin@example.com", "events:write"))
    other = bearer(token_for("admin@example.com", "events:write", name="other"))
    assert [post(client, first, event()).status_code for _ in range(3)] == [201] * 3
    refused = post(client, first, event())
    assert refused.status_code == 429 and refused.mimetype == PROBLEM
    assert 1 <= int(refused.headers["Retry-After"]) <= 120
    assert post(client, first, [event()]).status_code == 429  # refusals are not counted, but
    assert post(client, other, event()).status_code == 201  # another token has its own rate
    assert event_count(app) == 4


def test_the_rate_slides_over_the_minute_boundary(app):
    from plugins.api import rates

    with app.app_context():
        start = 1_000_000 * 60 + 30.0  # half past a minute
        assert [rates.take(7, 4, now=start + i) for i in range(4)] == [0, 0, 0, 0]
        assert rates.take(7, 4, now=start + 5) > 0
        # 15 s into the next minute, 3/4 of the last minute's 4 still count: room for 1.
        assert rates.take(7, 4, now=start + 45) == 0
        wait = rates.take(7, 4, now=start + 45)
        assert wait > 0 and rates.take(7, 4, now=start + 45 + wait - 1) > 0
        assert rates.take(7, 4, now=start + 45 + wait) == 0


def test_events_relate_to_viewers_exactly_as_an_in_app_action_with_the_same_actor_and_audience(
    app, client, people, writer
):
    from core.events import ActivityAudience
    from core.events import Audience
    from core.events import Ref
    from core.events import record_activity
    from core.people import Team

    with app.app_context():
        delivery = Team.get(Team.name == "Delivery").id
    sent = [
        event(actor={"email": "sales@example.com"}, audience={"people": ["fox@example.com"]}),
        event(actor={"external_id": "crm:7", "name": "CRM"}, audience={"teams": [delivery]}),
    ]
    answer = post(client, writer, sent)
    assert answer.status_code == 201
    api_ids = [item["id"] for item in answer.json["data"]]
    with app.app_context(), database.atomic():
        obj = Ref("invoice", "INV-7", "Invoice #7")
        fox = people["fox@example.com"].id
        app_ids = [
            record_activity(
                people["sales@example.com"], "invoice.paid", obj, audience=Audience(users={fox})
            ).id,
            record_activity(
                Ref("external", "crm:7", "CRM"),
                "invoice.paid",
                obj,
                audience=Audience(teams={delivery}),
            ).id,
        ]
    with app.app_context():
        for api_id, app_id in zip(api_ids, app_ids, strict=True):
            parties = [
                {a.party for a in ActivityAudience.select().where(ActivityAudience.event == i)}
                for i in (api_id, app_id)
            ]
            assert parties[0] == parties[1]
    from core.people import Role
    from plugins.settings.models import TabGrant

    with app.app_context():
        for role in ("Project Manager", "Office Manager", "Teammate", "Salesperson"):
            TabGrant.create(tab="activity", role=Role.get(Role.name == role))  # scope: related
    staff = [email for email, user in people.items() if user.is_staff]
    seen = {email: set(rows_seen_by(app, email, "activity")) for email in staff}
    for email, rows in seen.items():
        for api_id, app_id in zip(api_ids, app_ids, strict=True):
            assert (api_id in rows) == (app_id in rows), email
    # The check has teeth: the related scope shows some of them to some viewers only.
    assert api_ids[0] in seen["fox@example.com"] and api_ids[0] in seen["hiro@example.com"]
    assert api_ids[0] not in seen["teammate@example.com"]
    assert (
        api_ids[1] in seen["teammate@example.com"] and api_ids[1] not in seen["sales@example.com"]
    )


def test_the_detail_view_shows_the_metadata_and_the_external_actors_id(app, client, writer, login):
    sent = event(actor={"external_id": "crm:7", "name": "CRM"}, metadata={"ticket": "T-<42>"})
    event_id = post(client, writer, sent).json["data"][0]["id"]
    login("admin@example.com")
    page = client.get(f"/stream/activity/{event_id}")
    assert page.status_code == 200
    assert "crm:7" in page.text and "T-&lt;42&gt;" in page.text and "T-<42>" not in page.text


def test_schema_and_checks_agree_on_the_fields_and_the_settings_are_checked(make_app):
    from core.plugins import PluginError
    from plugins.api import event_checks
    from plugins.api.ingest import EVENT_SCHEMA

    assert set(EVENT_SCHEMA["properties"]) == event_checks.EVENT_FIELDS
    assert set(EVENT_SCHEMA["required"]) == {"actor", "verb", "object"}
    json.dumps(EVENT_SCHEMA)  # plain JSON, for the API's description
    with pytest.raises(PluginError, match="ACTIVITY_STREAM_API_RATE_LIMIT: must be a number"):
        make_app(API_RATE_LIMIT=0)


def test_the_migration_adds_the_columns_to_an_older_event_store_and_keeps_its_rows(app):
    from core import migrations
    from core.events import ActivityEvent
    from core.events import Ref
    from core.events import record_activity

    with app.app_context():
        with database.atomic():
            kept = record_activity(None, "invoice.paid", Ref("invoice", 1, "One")).id
        for column in ("actor_external_id", "metadata"):
            database.execute_sql(f"ALTER TABLE activity_event DROP COLUMN {column}")
        migrations.SchemaMigration.delete().where(
            migrations.SchemaMigration.name == "core.0006_event_metadata"
        ).execute()
        assert migrations.upgrade(app) == ["core.0006_event_metadata"]
        columns = {c.name for c in database.get_columns("activity_event")}
        assert {"actor_external_id", "metadata"} <= columns
        assert ActivityEvent.get_by_id(kept).metadata is None


def test_text_no_database_can_store_and_huge_numbers_are_refused_naming_the_field(
    app, client, writer
):
    unstorable = (
        '{"actor": {"external_id": "a\\u0000", "name": "x"}, "verb": "invoice.paid",'
        ' "object": {"type": "invoice", "id": 1, "label": "\\ud800"},'
        ' "metadata": {"note": ["ok", "\\udfff"]}}'
    )
    body = f"[{json.dumps(event())}, {unstorable}]".encode()
    answer = post(client, writer, body)
    assert answer.status_code == 422, answer.text
    assert {(e["item"], e["field"]) for e in answer.json["errors"]} == {
        (1, "actor.external_id"),
        (1, "object.label"),
        (1, "metadata.note[1]"),
    }
    huge = 10**30
    answer = post(
        client,
        writer,
        [
            event(actor={"id": huge}),
            event(object={"type": "invoice", "id": huge**3, "label": "x"}),
            event(audience={"people": [huge], "teams": [huge]}),
        ],
    )
    assert answer.status_code == 422, answer.text
    assert {(e["item"], e["field"]) for e in answer.json["errors"]} == {
        (0, "actor.id"),
        (1, "object.id"),
        (2, "audience.people[0]"),
        (2, "audience.teams[0]"),
    }
    assert event_count(app) == 0
    emoji = post(
        client,
        writer,
        b'{"actor": {"external_id": "\\ud83d\\ude00", "name": "Smile"},'
        b' "verb": "invoice.paid", "object": {"type": "invoice", "id": 1, "label": "x"}}',
    )
    assert emoji.status_code == 201, emoji.text
