"""See Message as a mail viewer: the header block and the delivery attempts, the tabs, the
message's source as an ``.eml`` download (the exact bytes the SMTP server received, behind the
same visibility as See Message, recorded as a read once an hour), the frame's height and dark
mode, Resend answered into the list and phrased on the Activity tab. SQLite and PostgreSQL."""

import email
import email.policy
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from core.db import database
from core.events import ActivityEvent
from plugins.email import mime
from plugins.email import outbox
from plugins.email import sender
from plugins.email.models import EmailMessage
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}
TEXT = "Hello Dana,\n\nThe task is done = finished.\n"
HTML = "<p>Hello <b>Dana</b>,</p><p>The task is done.</p>"


@pytest.fixture
def queued_app(make_app, people):
    """An app whose queue runs no task: each test delivers its messages itself."""
    del people
    return make_app(HUEY_IMMEDIATE=False)


def client_for(app, address):
    """Return a test client signed in as ``address``."""
    client = app.test_client()
    assert sign_in(client, address).status_code == 302
    return client


def queue(app, people, subject, recipient, sender_user=None, private=False, html=HTML):
    """Queue one message (the outbox's real path); return its id."""
    with app.app_context(), app.test_request_context():
        (message_id,) = outbox.queue(
            [
                {
                    "kind": "private_message" if private else "task.completed",
                    "private": private,
                    "sender_id": sender_user.id if sender_user else None,
                    "sender_name": sender_user.name if sender_user else "",
                    "recipient": people[recipient],
                    "subject": subject,
                    "text_body": TEXT,
                    "html_body": html,
                }
            ]
        )
    return message_id


def reads(app, reader, message_id):
    """Return how many ``email.read`` events ``reader`` has on message ``message_id``."""
    with app.app_context():
        return (
            ActivityEvent.select()
            .where(
                (ActivityEvent.verb == "email.read")
                & (ActivityEvent.actor_id == reader.id)
                & (ActivityEvent.object_id == str(message_id))
            )
            .count()
        )


def test_the_eml_download_is_the_exact_message_the_smtp_server_received(
    queued_app, people, smtp_server
):
    app = queued_app
    message_id = queue(app, people, "Task completed: Q4 plan", "teammate@example.com")
    with app.app_context():
        config = replace(app.extensions["email.settings"], smtp_url=smtp_server.url)
        sender.deliver(message_id, config)
        row = EmailMessage.get_by_id(message_id)
    (envelope,) = smtp_server.received
    answer = client_for(app, "admin@example.com").get(f"/stream/email/{message_id}.eml")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "message/rfc822"
    assert (
        answer.headers["Content-Disposition"] == f'attachment; filename="message-{message_id}.eml"'
    )
    # The bytes the server accepted, to the boundary (fixed by the Message-ID).
    assert answer.data == envelope.original_content
    assert answer.data == mime.source(row, app.config["MAIL_FROM"])
    parsed = email.message_from_bytes(answer.data, policy=email.policy.default)
    assert parsed["Message-ID"] == row.message_id
    assert parsed["Subject"] == "Task completed: Q4 plan"
    lines = str.splitlines
    assert lines(parsed.get_body(("plain",)).get_content()) == lines(TEXT)
    assert lines(parsed.get_body(("html",)).get_content()) == lines(HTML)


def test_the_eml_of_a_message_the_viewer_may_not_see_is_the_same_404_as_a_missing_one(
    queued_app, people
):
    app = queued_app
    # A Private Message between two other people: an Admin sees every notification, never it.
    hidden = queue(
        app, people, "Secret plan", "fox@example.com", people["pm@example.com"], private=True
    )
    admin = client_for(app, "admin@example.com")
    refused = admin.get(f"/stream/email/{hidden}.eml")
    missing = admin.get("/stream/email/987654.eml")
    assert refused.status_code == missing.status_code == 404
    assert "Secret plan" not in refused.text
    assert "no such message" in refused.text
    assert re.sub(r"\d", "", refused.text) == re.sub(r"\d", "", missing.text)
    owner = client_for(app, "owner@example.com")
    assert owner.get(f"/stream/email/{hidden}.eml").status_code == 404
    assert reads(app, people["admin@example.com"], hidden) == 0  # nothing read, nothing recorded


def test_a_party_downloads_a_private_message(queued_app, people):
    app = queued_app
    mine = queue(
        app, people, "Board pack", "owner@example.com", people["admin@example.com"], private=True
    )
    for address in ("admin@example.com", "owner@example.com"):
        answer = client_for(app, address).get(f"/stream/email/{mine}.eml")
        assert answer.status_code == 200 and b"Subject: Board pack" in answer.data


def test_the_download_is_recorded_as_a_read_once_an_hour(queued_app, people, guard_lifted):
    app = queued_app
    admin = people["admin@example.com"]
    message_id = queue(app, people, "Task completed: Q4 plan", "teammate@example.com")
    client = client_for(app, "admin@example.com")
    assert reads(app, admin, message_id) == 0
    for _ in range(3):
        assert client.get(f"/stream/email/{message_id}.eml").status_code == 200
    assert reads(app, admin, message_id) == 1  # one read, however often, within the hour
    assert client.get(f"/stream/email/{message_id}", headers=HTMX).status_code == 200
    assert reads(app, admin, message_id) == 1  # See Message is the same read
    with app.app_context():
        event = ActivityEvent.get(
            (ActivityEvent.verb == "email.read") & (ActivityEvent.object_id == str(message_id))
        )
        assert event.summary == "to Dana Scully" and event.object_label.startswith("Task")
        ActivityEvent.update(occurred_at=event.occurred_at - timedelta(hours=2)).where(
            ActivityEvent.id == event.id
        ).execute()
    assert client.get(f"/stream/email/{message_id}.eml").status_code == 200
    assert reads(app, admin, message_id) == 2  # an hour later, a new read


def test_see_message_shows_the_header_block_and_every_attempt(queued_app, people, smtp_server):
    app = queued_app
    pm = people["pm@example.com"]
    with app.app_context(), database.atomic():
        pm.time_zone = "Europe/Paris"  # the reader's zone is named beside the date
        pm.save()
    message_id = queue(app, people, "Task completed: Q4 plan", "teammate@example.com", pm)
    with app.app_context():
        config = replace(app.extensions["email.settings"], smtp_url=smtp_server.url)
        smtp_server.answer = "451 4.3.0 Mailbox busy, try later"
        assert sender.deliver(message_id, config) is not None  # tried again later
        smtp_server.answer = None
        assert sender.deliver(message_id, config) is None
        row = EmailMessage.get_by_id(message_id)
    owner = client_for(app, "owner@example.com")
    with app.app_context(), database.atomic():
        people["owner@example.com"].time_zone = "Asia/Tokyo"
        people["owner@example.com"].save()
    detail = owner.get(f"/stream/email/{message_id}", headers=HTMX).text
    block = detail.split('<section class="email-viewer"')[0]
    assert "Priya Patel via Activity Stream &lt;notifications@activity-stream.invalid&gt;" in block
    assert "Dana Scully &lt;teammate@example.com&gt;" in block
    assert "Task completed: Q4 plan" in block
    assert "(Asia/Tokyo)" in block and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST", block)
    assert row.message_id.replace("<", "&lt;").replace(">", "&gt;") in block
    assert "Sent" in block and "250 2.0.0 Message accepted for delivery" in block
    attempts = re.findall(r"<tr class=\"attempt-(\w+)\">(.*?)</tr>", block)
    assert [kind for kind, _ in attempts] == ["temporary", "sent"]
    assert "451 4.3.0 Mailbox busy, try later" in attempts[0][1]
    assert "250 2.0.0 Message accepted for delivery" in attempts[1][1]
    assert "No attachments" in detail


def test_the_tabs_hold_every_part_and_the_query_picks_one(queued_app, people):
    app = queued_app
    message_id = queue(app, people, "Task <completed>", "teammate@example.com")
    admin = client_for(app, "admin@example.com")
    detail = admin.get(f"/stream/email/{message_id}", headers=HTMX).text
    tabs = re.findall(r'role="tab" id="email-tab-(\w+)-\d+"[^>]*aria-selected="(\w+)"', detail)
    assert tabs == [("html", "true"), ("text", "false"), ("headers", "false"), ("raw", "false")]
    for part in ("html", "text", "headers", "raw"):
        assert f'id="email-panel-{part}-{message_id}"' in detail
    raw = admin.get(f"/stream/email/{message_id}?part=raw", headers=HTMX).text
    assert re.findall(r'id="email-tab-(\w+)-\d+"[^>]*aria-selected="true"', raw) == ["raw"]
    panel = re.search(
        r'id="email-panel-raw-\d+"[^>]*>\s*<pre class="email-raw">(.*?)</pre>', raw, re.S
    )
    assert panel and "hidden" not in panel.group(0).split(">")[0]
    assert "Subject: Task &lt;completed&gt;" in panel.group(1)  # the source, escaped
    assert "Content-Transfer-Encoding: quoted-printable" in panel.group(1)
    refused = admin.get(f"/stream/email/{message_id}?part=source")
    assert refused.status_code == 400 and "part:" in refused.text


def test_the_frame_follows_dark_mode_unless_the_sender_chose_colours(queued_app, people):
    app = queued_app
    plain = queue(app, people, "Plain", "teammate@example.com")
    coloured = queue(
        app,
        people,
        "Coloured",
        "teammate@example.com",
        html='<p style="color: #1f2937">Dark text</p>',
    )
    admin = client_for(app, "admin@example.com")
    assert "color-scheme: light dark" in admin.get(f"/stream/email/{plain}/body").text
    body = admin.get(f"/stream/email/{coloured}/body")
    assert "color-scheme: light;" in body.text and "light dark" not in body.text
    assert "#1f2937" in body.text  # the sender's safe styling is kept
    assert "script-src" not in body.headers["Content-Security-Policy"]
    long = queue(app, people, "Long", "teammate@example.com", html="<p>line</p>" * 40)
    heights = [
        int(re.search(r'data-height="(\d+)"', admin.get(f"/stream/email/{m}").text).group(1))
        for m in (plain, long)
    ]
    assert 120 <= heights[0] < heights[1] <= 2400


def test_resend_from_the_list_answers_the_copys_row_and_is_phrased(queued_app, people):
    app = queued_app
    original = queue(app, people, "Task completed: Q4 plan", "teammate@example.com")
    admin = client_for(app, "admin@example.com")
    page = admin.get("/stream/email").text
    row = re.search(rf'<li[^>]*data-row-id="{original}".*?</li>', page, re.S).group(0)
    assert 'hx-confirm="Resend “Task completed: Q4 plan” to Dana Scully?"' in row
    form = {"csrf_token": csrf_token_of(admin), "answer": "row"}
    answer = admin.post(f"/stream/email/{original}/resend", data=form, headers=HTMX)
    assert answer.status_code == 200
    with app.app_context():
        copy = EmailMessage.select().order_by(EmailMessage.id.desc()).first()
    assert copy.id != original and copy.resent_from == original
    (li,) = re.findall(r"<li[^>]*>", answer.text)
    assert f'data-row-id="{copy.id}"' in li and 'data-status="queued"' in li
    assert f'hx-get="/stream/email/{copy.id}/row?n=1"' in li  # it polls like any queued row
    assert f"Resent: new copy #{copy.id} of message #{original}, queued." in answer.text
    # From See Message as a page: htmx goes to the copy's page.
    del form["answer"]
    answer = admin.post(f"/stream/email/{original}/resend", data=form, headers=HTMX)
    assert answer.headers["HX-Redirect"].startswith("/stream/email/")
    # The Activity tab: "… resent the email “Task completed: Q4 plan” to Dana Scully".
    activity = admin.get("/stream/activity?q=resent").text
    sentence = re.search(r"resent the email “(.*?)”([^<]*)<", activity)
    assert sentence, activity[:2000]
    assert "Task completed: Q4 plan" in sentence.group(1)
    assert sentence.group(2) == " to Dana Scully"
    row = re.search(r'<li class="row" data-row-id="\d+">.*?</li>', activity, re.S).group(0)
    assert row.count("Dana Scully") == 1  # the summary is not said again under the sentence
