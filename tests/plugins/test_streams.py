"""Log streams against a real HTTP receiver on loopback: records sent signed, in order, once
each when nothing fails; the search and tabs chosen; the owner's visibility; backoff, the
delivery log and the pause; the destination's rules; the command line; Settings' routes."""

from datetime import timedelta

import pytest

from core import signing
from core.db import utcnow
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from plugins.email.models import EmailMessage
from plugins.streams import delivery
from plugins.streams import destinations
from plugins.streams.models import PAUSED
from plugins.streams.models import StreamCursor
from plugins.streams.models import StreamDelivery
from plugins.streams.models import StreamDestination
from plugins.streams.tasks import pump_once
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.receiver import Receiver

SECRET = "s3cret-s3cret-s3cret"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def settings_of(app):
    return app.extensions["streams.settings"]


def add(app, people, url, owner="owner@example.com", **fields):
    with app.app_context():
        return destinations.add(
            people[owner], fields.pop("name", "SIEM"), url, secret=SECRET, **fields
        )


def record(app, people, count, verb="task.updated", who="admin@example.com", type_="task"):
    with app.app_context():
        actor = people[who]
        return [record_activity(actor, verb, Ref(type_, n, f"Thing {n}")).id for n in range(count)]


def pump(app):
    return pump_once(app, settings_of(app))


def activity_ids(receiver):
    return [int(r["id"].split(":")[1]) for r in receiver.records() if r["tab"] == "activity"]


def test_records_arrive_signed_in_order_once(app, people, receiver):
    add(app, people, receiver.url, tabs=["activity"])
    ids = record(app, people, 1200)
    assert pump(app) == 1200
    assert activity_ids(receiver) == ids  # in order, each once
    receiver.verify_all(SECRET)
    first = receiver.bodies()[0]
    assert first["type"] == "records" and len(first["records"]) == 500  # batched
    data = first["records"][0]["data"]
    assert data["id"] == ids[0] and data["verb"] == "task.updated"  # the API's shape
    assert pump(app) == 0 and len(receiver.records()) == 1200  # nothing twice
    with app.app_context():
        assert StreamDestination.get().delivered == 1200
        assert StreamDelivery.select().where(StreamDelivery.ok).count() == 3  # 500, 500, 200


def test_a_new_destination_starts_from_now(app, people, receiver):
    record(app, people, 5)
    add(app, people, receiver.url, tabs=["activity"])
    later = record(app, people, 2)
    pump(app)
    assert activity_ids(receiver) == later


def test_the_search_and_the_tabs_chosen(app, people, receiver):
    add(app, people, receiver.url, tabs=["activity"], query="type:document")
    record(app, people, 3, type_="task")
    wanted = record(app, people, 2, type_="document")
    pump(app)
    assert activity_ids(receiver) == wanted
    assert {r["tab"] for r in receiver.records()} == {"activity"}


def test_a_tampered_body_fails_its_signature(app, people, receiver):
    add(app, people, receiver.url, tabs=["activity"])
    record(app, people, 1)
    pump(app)
    headers, body = receiver.requests[0]
    header = headers[signing.HEADER]
    signing.verify(SECRET, header, body)
    with pytest.raises(signing.BadSignature):
        signing.verify(SECRET, header, body.replace(b"task.updated", b"task.deleted"))
    with pytest.raises(signing.BadSignature):
        signing.verify("another-secret-value", header, body)
    with pytest.raises(signing.BadSignature):  # replayed later than the tolerance
        signing.verify(SECRET, header, body, now=int(header[2:12]) + 3600)


def test_a_failing_destination_backs_off_logs_and_keeps_its_place(app, people, receiver):
    destination = add(app, people, receiver.url, tabs=["activity"])
    ids = record(app, people, 3)
    receiver.status = 503
    assert pump(app) == 0
    with app.app_context():
        row = StreamDestination.get_by_id(destination.id)
        assert row.failures == 1 and row.next_attempt_at > utcnow()
        assert "503" in row.last_error
        (logged,) = StreamDelivery.select()
        assert logged.status_code == 503 and not logged.ok and logged.records == 3
        assert StreamCursor.get(tab="activity").last_id < ids[0]
    receiver.status = 200
    assert pump(app) == 0  # waiting for its retry
    with app.app_context():
        StreamDestination.update(next_attempt_at=utcnow()).execute()
    assert pump(app) == 3
    assert activity_ids(receiver) == ids
    with app.app_context():
        assert StreamDestination.get_by_id(destination.id).failures == 0


def test_failing_for_a_day_pauses_and_tells_the_owner(app, people, receiver):
    destination = add(app, people, receiver.url, tabs=["activity"])
    (waiting,) = record(app, people, 1)
    receiver.status = 500
    with app.app_context():
        StreamDestination.update(failing_since=utcnow() - timedelta(days=1, seconds=1)).execute()
    pump(app)
    with app.app_context():
        row = StreamDestination.get_by_id(destination.id)
        assert row.state == PAUSED and "failing for 24 hours" in row.paused_reason
        mail = EmailMessage.get(EmailMessage.kind == "stream.paused")
        assert mail.recipient_email == "owner@example.com"
        assert ActivityEvent.get(ActivityEvent.verb == "log_stream.paused").object_id == str(
            destination.id
        )
    receiver.status = 200
    assert pump(app) == 0  # paused: nothing sent
    with app.app_context():
        assert delivery.resume(destination.id)
    assert pump(app) == 2  # what waited, and the pause itself (an Activity record)
    assert activity_ids(receiver)[0] == waiting


def test_an_owner_who_leaves_pauses_the_destination(app, people, receiver):
    destination = add(app, people, receiver.url, owner="admin@example.com", tabs=["activity"])
    record(app, people, 2)
    with app.app_context():
        people["admin@example.com"].__class__.update(active=False).where(
            people["admin@example.com"].__class__.id == people["admin@example.com"].id
        ).execute()
    assert pump(app) == 0
    assert receiver.records() == []
    with app.app_context():
        assert StreamDestination.get_by_id(destination.id).state == PAUSED


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "http://siem.example.com/x"}, "url"),
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "https://user:pw@siem.example.com/"}, "url"),
        ({"url": "https://siem.example.com/", "tabs": ["nope"]}, "tabs"),
        ({"url": "https://siem.example.com/", "tabs": ["logins"], "query": "verb:x"}, "query"),
        ({"url": "https://siem.example.com/", "secret": "short"}, "secret"),
    ],
)
def test_a_bad_destination_is_refused_naming_the_field(app, people, fields, field):
    values = {"tabs": [], "query": "", "secret": SECRET, **fields}
    with app.app_context(), pytest.raises(destinations.Refused) as refused:
        destinations.add(people["owner@example.com"], "", **values)
    assert field in refused.value.errors, refused.value.errors


def test_plain_http_to_loopback_and_https_anywhere_are_fine(app, people):
    for url in (
        "http://127.0.0.1:9/x",
        "http://localhost/x",
        "http://[::1]/x",
        "https://a.example/",
    ):
        assert destinations.check_url(url) is None, url


def test_the_command_line_adds_lists_and_removes(app, people, receiver):
    runner = app.test_cli_runner()
    added = runner.invoke(args=["streams", "add", receiver.url, "--tabs", "activity"])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert len(secret) >= 32
    ids = record(app, people, 2)
    pump(app)
    first, *rest = receiver.records()  # its own addition comes first: recorded after its start
    assert first["data"]["verb"] == "log_stream.created"
    assert [int(r["data"]["id"]) for r in rest] == ids
    receiver.verify_all(secret)
    listed = runner.invoke(args=["streams", "list"])
    assert receiver.url in listed.output and "delivered=3" in listed.output
    refused = runner.invoke(args=["streams", "add", "http://example.com/x", "--secret", SECRET])
    assert refused.exit_code == 2 and "plain http://" in refused.output
    with app.app_context():
        destination_id = StreamDestination.get().id
    removed = runner.invoke(args=["streams", "remove", str(destination_id)])
    assert removed.exit_code == 0
    with app.app_context():
        assert StreamDestination.select().count() == 0 and StreamCursor.select().count() == 0
    assert runner.invoke(args=["streams", "remove", str(destination_id)]).exit_code == 2


def post(client, path, **form):
    form["csrf_token"] = csrf_token_of(client)
    return client.post(path, data=form, headers=HTMX)


def test_settings_adds_tests_pauses_resumes_and_removes(app, people, receiver):
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/settings")
    assert 'id="streams"' in page.text
    added = post(client, "/stream/settings/streams/destinations", url=receiver.url, tabs="activity")
    assert added.status_code == 200, added.text
    with app.app_context():
        destination = StreamDestination.get()
    assert destination.secret in added.text  # shown this once
    assert destination.owner_id == people["admin@example.com"].id
    base = f"/stream/settings/streams/destinations/{destination.id}"
    tested = post(client, f"{base}/test")
    assert tested.status_code == 200 and "answered 200" in tested.text
    assert "test" in [body["type"] for body in receiver.bodies()]
    receiver.verify_all(destination.secret)
    assert "Delivery log" in client.get(f"{base}/deliveries", headers=HTMX).text
    assert post(client, f"{base}/pause").status_code == 200
    with app.app_context():
        assert StreamDestination.get().state == PAUSED
    assert post(client, f"{base}/resume").status_code == 200
    assert post(client, f"{base}/remove").status_code == 200
    with app.app_context():
        assert StreamDestination.select().count() == 0
        verbs = [
            e.verb for e in ActivityEvent.select().where(ActivityEvent.object_type == "log_stream")
        ]
    assert verbs == [
        "log_stream.created",
        "log_stream.paused",
        "log_stream.resumed",
        "log_stream.deleted",
    ]
    assert post(client, f"{base}/remove").status_code == 404
    refused = post(client, "/stream/settings/streams/destinations", url="http://example.com/")
    assert refused.status_code == 400 and "plain http://" in refused.text


def test_only_the_owner_and_admins_reach_the_section(app, people, receiver):
    add(app, people, receiver.url)
    for email in ("teammate@example.com", "pm@example.com"):
        client = app.test_client()
        assert sign_in(client, email).status_code == 302
        assert (
            post(client, "/stream/settings/streams/destinations", url=receiver.url).status_code
            == 403
        )
        assert post(client, "/stream/settings/streams/destinations/1/test").status_code == 403
    assert receiver.requests == []


def test_records_are_read_as_the_owner_sees_them(app, people, receiver):
    """An Admin whose role sees only related Activity rows streams only those."""
    from plugins.settings.models import RoleScope

    admin = people["admin@example.com"]
    with app.app_context():
        RoleScope.create(role=admin.role_id, tab="activity", scope="related")
    add(app, people, receiver.url, owner="admin@example.com", tabs=["activity"])
    theirs = record(app, people, 2, who="admin@example.com")
    record(app, people, 3, who="teammate@example.com")  # relates to the teammate, not to them
    pump(app)
    assert activity_ids(receiver) == theirs


def test_a_tab_its_owner_lost_waits_until_they_see_it_again(app, people, receiver):
    from plugins.settings.models import TabGrant

    admin = people["admin@example.com"]
    destination = add(app, people, receiver.url, owner="admin@example.com", tabs=["logins"])
    client = app.test_client()
    sign_in(client, "nobody@example.com", "wrong")  # a sign-in attempt: a Logins record
    with app.app_context():
        grants = list(
            TabGrant.select().where((TabGrant.tab == "logins") & (TabGrant.role == admin.role_id))
        )
        assert grants
        TabGrant.delete().where(TabGrant.id.in_([g.id for g in grants])).execute()
    assert pump(app) == 0 and receiver.records() == []
    with app.app_context():
        assert "may not see" in StreamDestination.get_by_id(destination.id).last_error
        for grant in grants:
            TabGrant.create(tab=grant.tab, role=grant.role_id)
    assert pump(app) == 1
    (sent,) = receiver.records()
    assert sent["tab"] == "logins" and sent["data"]["name_typed"] == "nobody@example.com"
