"""The Email tab: scope and privacy in SQL, filters, the row poll, See Message, Resend, and the
Private Message pages of the workspace. SQLite and PostgreSQL."""

import re

import pytest
from werkzeug.datastructures import MultiDict

from core.db import database
from core.events import ActivityEvent
from core.notifications import Notification
from core.notifications import notify
from core.people import Role
from core.testing import rows_seen_by
from plugins.email import outbox
from plugins.email import views
from plugins.email.filters import parse_filters
from plugins.email.models import QUEUED
from plugins.email.models import EmailMessage
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace

# The mail here is the workspace example's: its actions, Private Messages and templates.
services = workspace("services")
send_private_message = workspace("messages").send_private_message

IFRAME = re.compile(r"<iframe[^>]*>")


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def grant_email(app, role_name="Teammate"):
    """Grant the Email tab to a role (its scope stays the default, ``related``)."""
    with app.app_context():
        TabGrant.create(tab="email", role=Role.get(Role.name == role_name))


@pytest.fixture
def mail(app, people):
    """Notifications and Private Messages between several people; return their ids by name."""
    p = {email.split("@")[0]: user for email, user in people.items()}
    with app.app_context():
        task = services.create_task(p["pm"], title="Q4 plan", assignees=[p["teammate"]])
        services.create_document(p["sales"], title="Price list", shared_with=[p["client"]])
        send_private_message(p["admin"], [p["owner"]], "Board pack", "Draft attached")
        send_private_message(p["pm"], [p["fox"]], "Secret plan", "Between us")
        send_private_message(p["client"], [p["sales"]], "Discount?", "Any room?")
        del task
        return {m.subject: m.id for m in EmailMessage.select()}


def test_an_admin_sees_every_notification_but_only_their_own_private_messages(app, mail):
    seen = set(rows_seen_by(app, "admin@example.com", "email"))
    assert mail["Task assigned to you: Q4 plan"] in seen
    assert mail["Document shared with you: Price list"] in seen
    assert mail["Board pack"] in seen  # the admin sent it
    assert mail["Secret plan"] not in seen and mail["Discount?"] not in seen
    owner_seen = set(rows_seen_by(app, "owner@example.com", "email"))
    assert mail["Board pack"] in owner_seen and mail["Secret plan"] not in owner_seen


def test_a_teammate_sees_their_teams_mail_and_only_their_own_private_messages(app, mail):
    grant_email(app)
    # Dana Scully (Delivery: with Priya, Fox, Grace) sees the Delivery team's mail.
    seen = set(rows_seen_by(app, "teammate@example.com", "email"))
    assert mail["Task assigned to you: Q4 plan"] in seen
    assert mail["Document shared with you: Price list"] not in seen  # Sales, not hers
    assert mail["Secret plan"] not in seen  # between two teammates of hers, not to her
    assert mail["Board pack"] not in seen
    fox = set(rows_seen_by(app, "fox@example.com", "email"))
    assert mail["Secret plan"] in fox


def test_a_private_message_is_hidden_from_a_non_party_everywhere(app, mail):
    admin = client_for(app, "admin@example.com")
    hidden = mail["Secret plan"]
    htmx = {"HX-Request": "true"}
    for url in (
        f"/stream/email/{hidden}",
        f"/stream/email/{hidden}/body",
        f"/stream/email/{hidden}/row",
    ):
        assert admin.get(url, headers=htmx).status_code == 404, url
    missing = admin.get("/stream/email/987654")
    assert missing.status_code == 404
    assert admin.get(f"/stream/email/{hidden}").text.count("no such message") == missing.text.count(
        "no such message"
    )
    token = csrf_token_of(admin)
    resend = admin.post(f"/stream/email/{hidden}/resend", data={"csrf_token": token})
    assert resend.status_code == 404
    # Not counted, not in the poll, not found by searching for it.
    total = admin.get("/stream/email").text
    visible = rows_seen_by(app, "admin@example.com", "email")
    assert f"{len(visible)} messages" in total
    poll = admin.get("/stream/email/new?since=1", headers=htmx).text
    newer = len([row_id for row_id in visible if row_id > 1])
    assert f"{newer} new message{'s' if newer != 1 else ''}" in poll
    assert rows_seen_by(app, "admin@example.com", "email", q="Secret") == []
    assert rows_seen_by(app, "admin@example.com", "email", kind="private_message") == [
        mail["Board pack"]
    ]


def test_filters_narrow_the_list_and_bad_ones_are_refused(app, people, mail):
    pm, client = people["pm@example.com"], people["client@example.com"]
    assert rows_seen_by(app, "owner@example.com", "email", sender=pm.id) == [
        mail["Task assigned to you: Q4 plan"]
    ]
    assert rows_seen_by(app, "owner@example.com", "email", recipient=client.id) == [
        mail["Document shared with you: Price list"]
    ]
    assert rows_seen_by(app, "owner@example.com", "email", kind="task.assigned", status="kept")
    assert rows_seen_by(app, "owner@example.com", "email", status="failed") == []
    assert rows_seen_by(app, "owner@example.com", "email", q="Price list")
    assert (
        rows_seen_by(
            app, "owner@example.com", "email", **{"from": "2001-01-01", "to": "2001-01-02"}
        )
        == []
    )
    owner = client_for(app, "owner@example.com")
    for query, field in (
        ("status=lost", "status"),
        ("recipient=abc", "recipient"),
        ("sender=-1", "sender"),
        ("from=2026-13-01", "from"),
    ):
        response = owner.get(f"/stream/email?{query}")
        assert response.status_code == 400 and f"{field}:" in response.text, query


def test_a_queued_row_polls_itself_until_it_is_finished(make_app, people):
    app = make_app(HUEY_IMMEDIATE=False)
    with app.app_context():
        (queued,) = notify(
            Notification(
                "test.note",
                (people["teammate@example.com"],),
                "Waiting",
                "workspace/mail/task_assigned",
                {"title": "T", "actor_name": "A"},
            )
        )
    admin = client_for(app, "admin@example.com")
    page = admin.get("/stream/email").text
    row = re.search(rf'<li[^>]*data-row-id="{queued}"[^>]*>', page).group(0)
    assert f'hx-get="/stream/email/{queued}/row?n=1"' in row and "load delay:2s" in row
    from plugins.email import sender

    with app.app_context():
        sender.deliver(queued, app.extensions["email.settings"])
    fresh = admin.get(f"/stream/email/{queued}/row?n=1", headers={"HX-Request": "true"}).text
    assert 'data-status="kept"' in fresh and 'hx-get="/stream/email/' not in fresh.split(">")[0]
    assert (
        admin.get(f"/stream/email/{queued}/row?n=200", headers={"HX-Request": "true"}).status_code
        == 200
    )


def test_see_message_shows_the_html_in_a_sandboxed_frame_with_its_own_policy(app, people):
    hostile = '<p>Hi</p><img src="https://tracker.example/p.gif"><script>alert(1)</script>'
    with app.app_context(), app.test_request_context():
        (message_id,) = outbox.queue(
            [
                {
                    "kind": "test.note",
                    "private": False,
                    "sender_id": None,
                    "sender_name": "",
                    "recipient": people["teammate@example.com"],
                    "subject": "Look",
                    "text_body": "Plain <b>part</b>",
                    "html_body": hostile,
                }
            ]
        )
    admin = client_for(app, "admin@example.com")
    detail = admin.get(f"/stream/email/{message_id}", headers={"HX-Request": "true"}).text
    (frame,) = IFRAME.findall(detail)
    assert re.search(r"\ssandbox[\s>]", frame) and "allow-" not in frame
    assert f'src="/stream/email/{message_id}/body"' in frame
    assert "Plain &lt;b&gt;part&lt;/b&gt;" in detail  # the text part, escaped
    assert "Message-ID" in detail and "hx-disable" in detail
    assert "1 remote image blocked" in detail and "Load remote images" in detail
    body = admin.get(f"/stream/email/{message_id}/body")
    policy = body.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "img-src data:;" in policy and "script" not in policy
    assert "<script" not in body.text and "tracker.example" not in body.text
    remote = admin.get(f"/stream/email/{message_id}/body?images=remote")
    assert (
        "tracker.example" in remote.text and "https:" in remote.headers["Content-Security-Policy"]
    )
    page = admin.get(f"/stream/email/{message_id}")  # the full page, by URL
    assert page.status_code == 200 and "<html" in page.text and IFRAME.search(page.text)


def test_resend_queues_a_linked_copy_and_records_it(app, people, mail):
    admin = client_for(app, "admin@example.com")
    original = mail["Task assigned to you: Q4 plan"]
    response = admin.post(
        f"/stream/email/{original}/resend", data={"csrf_token": csrf_token_of(admin)}
    )
    assert response.status_code == 303
    with app.app_context():
        copy = EmailMessage.select().order_by(EmailMessage.id.desc()).first()
        first = EmailMessage.get_by_id(original)
        event = ActivityEvent.get(ActivityEvent.verb == "email.resent")
    assert response.headers["Location"].endswith(f"/stream/email/{copy.id}")
    assert copy.resent_from == original and copy.message_id != first.message_id
    assert (copy.subject, copy.recipient_id, copy.html_body) == (
        first.subject,
        first.recipient_id,
        first.html_body,
    )
    assert event.object_id == str(copy.id) and event.target_id == str(original)
    grant_email(app)
    teammate = client_for(app, "teammate@example.com")
    refused = teammate.post(
        f"/stream/email/{original}/resend", data={"csrf_token": csrf_token_of(teammate)}
    )
    assert refused.status_code == 403


# --- Private Messages in the workspace --------------------------------------------------------


def test_private_messages_compose_inbox_and_privacy(app, people):
    sales = client_for(app, "sales@example.com")
    client_user = people["client@example.com"]
    token = csrf_token_of(sales)
    form = {"csrf_token": token, "to": str(client_user.id), "subject": "Proposal", "body": "Hi"}
    sent = sales.post("/workspace/messages/new", data=form)
    assert sent.status_code == 302
    message_url = sent.headers["Location"]
    client = client_for(app, "client@example.com")
    assert "Proposal" in client.get("/workspace/messages").text
    assert client.get(message_url).status_code == 200
    assert client_for(app, "admin@example.com").get(message_url).status_code == 404
    with app.app_context():
        (mail,) = EmailMessage.select().where(EmailMessage.kind == "private_message")
        assert mail.private and mail.recipient_id == client_user.id
        assert not ActivityEvent.select().where(ActivityEvent.object_type == "message").exists()
    # A Contact writes to Staff only; a Freelancer to nobody; bad input names its field.
    prospect = people["prospect@example.com"]
    form = {
        "csrf_token": csrf_token_of(client),
        "to": str(prospect.id),
        "subject": "Hi",
        "body": "x",
    }
    refused = client.post("/workspace/messages/new", data=form)
    assert refused.status_code == 400 and "to:" in refused.text
    empty = sales.post(
        "/workspace/messages/new",
        data={"csrf_token": token, "to": str(client_user.id), "subject": " ", "body": "x"},
    )
    assert empty.status_code == 400 and "subject:" in empty.text
    freelancer = client_for(app, "freelancer@example.com")
    assert "nobody you may write to" in freelancer.get("/workspace/messages/new").text


def test_a_failed_private_message_leaves_no_message_and_no_mail(app, people):
    with app.app_context():
        with pytest.raises(RuntimeError), database.atomic():
            send_private_message(people["pm@example.com"], [people["fox@example.com"]], "S", "B")
            raise RuntimeError("rolled back")
        assert not EmailMessage.select().exists()
        assert EmailMessage.select().where(EmailMessage.status == QUEUED).count() == 0


def test_related_pages_read_one_person_at_a_time_and_miss_nothing(app, people):
    """Page through a Teammate's ``related`` scope and compare with the rule applied in
    Python: every page full, nobody's Private Message but hers, no row missed or repeated."""
    everyone = list(people.values())
    dana = people["teammate@example.com"]
    with app.app_context(), app.test_request_context("/"):
        with database.atomic():
            rows = [
                {
                    "kind": "task.assigned" if i % 5 else "private_message",
                    "private": i % 5 == 0,
                    "sender_id": everyone[i % 7].id,
                    "sender_name": everyone[i % 7].name,
                    "recipient": everyone[(i * 3) % len(everyone)],
                    "subject": f"M{i}",
                    "text_body": "t",
                    "html_body": "h",
                }
                for i in range(230)
            ]
            outbox.queue(rows)
        team = set(dana.related_user_ids())
        expected = [
            m.id
            for m in EmailMessage.select().order_by(EmailMessage.id.desc())
            if (m.sender_id in team or m.recipient_id in team)
            and (not m.private or dana.id in (m.sender_id, m.recipient_id))
        ]
        seen, after = [], None
        filters = parse_filters(MultiDict())
        while True:
            page, after = views.FEED.page(dana, filters, after=after, size=20)
            assert len(page) == 20 or after is None
            seen.extend(row.id for row in page)
            if after is None:
                break
        assert seen == expected and len(expected) > 40
        assert views.FEED.total(dana, filters) == len(expected)


def get_id_of(app, subject):
    """Return the id of the message with ``subject``."""
    with app.app_context():
        return EmailMessage.get(EmailMessage.subject == subject).id


def test_the_new_poll_with_search_words_counts_the_matches_after_its_cursor(app, people, mail):
    """The "N new" banner of a search counts the matching messages newer than ``since`` only:
    the words' index is bounded by the poll's cursor, not by a page's."""
    admin, owner = people["admin@example.com"], people["owner@example.com"]
    with app.app_context():
        send_private_message(admin, [owner], "Quarterly numbers", "First cut")
        send_private_message(admin, [owner], "Lunch", "Friday?")
        send_private_message(admin, [owner], "Quarterly numbers again", "Second cut")
    first_id = get_id_of(app, "Quarterly numbers")
    client = client_for(app, "admin@example.com")
    htmx = {"HX-Request": "true"}

    def banner(since, query):
        """Return the banner's count (0 when it shows none)."""
        answer = client.get(f"/stream/email/new?since={since}&q={query}", headers=htmx)
        assert answer.status_code == 200
        found = re.search(r"\b(\d+) new messages?\b", answer.text)
        return int(found.group(1)) if found else 0

    assert banner(0, "quarterly") == 2
    assert banner(first_id, "quarterly") == 1
    assert banner(first_id + 2, "quarterly") == 0
    assert banner(first_id, "lunch") == 1
