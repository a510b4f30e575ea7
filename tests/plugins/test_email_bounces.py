"""Delivery truth from bounces: real DSNs, delivered by SMTP to the return-path mailbox, read.

The app sends through a real aiosmtpd server (``smtp_server``) with the configured return path
as its envelope sender; the test then plays the remote mail system: it writes the DSN a real
one would (Postfix, Exchange Online: ``dsn_fixtures``) about the message the server received
and hands it over SMTP, with the null sender, to a second aiosmtpd server, the return path's
mail host, which delivers into a maildir. ``flask email read-bounces`` (and the periodic task)
read it. Then the suppression a hard bounce makes: on the Email tab, on Manage People (lifted
there, by the owner and admins only, recorded), and for Resend. SQLite and PostgreSQL.
"""

import mailbox
import re
import smtplib
import socket

import pytest

from core.db import database
from core.events import ActivityEvent
from core.notifications import Notification
from core.notifications import notify
from core.people import Role
from plugins.email import bounces
from plugins.email import dsn
from plugins.email.models import BOUNCED
from plugins.email.models import DEFERRED
from plugins.email.models import DELIVERED
from plugins.email.models import SENT
from plugins.email.models import SUPPRESSED
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage
from plugins.email.models import EmailSuppression
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace
from tests.plugins import dsn_fixtures

workspace("services")  # the mail templates are the workspace example's

RETURN_PATH = "bounces@activity-stream.test"


class ReturnPathHost:
    """The return path's mail host: a real aiosmtpd server on loopback delivering every message
    it accepts into a maildir, as an MDA would (a ``Return-Path:`` line first)."""

    def __init__(self, path):
        self.path = str(path)
        self.box = mailbox.Maildir(self.path, create=True)
        self.envelopes = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        """Deliver the message into the maildir."""
        self.envelopes.append(envelope)
        line = f"Return-Path: <{envelope.mail_from}>\r\n".encode()
        self.box.add(line + envelope.original_content)
        return "250 2.0.0 Ok: delivered to maildir"

    def start(self):
        """Listen on a free loopback port."""
        from aiosmtpd.controller import Controller

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        """Stop listening."""
        self.controller.stop()

    def deliver(self, dsn_bytes, to=RETURN_PATH):
        """Hand a DSN over SMTP as a remote mail system does: the null sender ``<>``."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.sendmail("<>", [to], dsn_bytes)


@pytest.fixture
def return_host(tmp_path):
    """Run the return path's mail host for the test; yield it."""
    host = ReturnPathHost(tmp_path / "bounces")
    host.start()
    yield host
    host.stop()


@pytest.fixture
def world(make_app, people, smtp_server, return_host):
    """An app sending through ``smtp_server`` with the return path set, reading bounces from
    the return host's maildir."""
    del people
    app = make_app(
        SMTP_URL=smtp_server.url,
        EMAIL_RETURN_PATH=RETURN_PATH,
        EMAIL_BOUNCE_MAILDIR=return_host.path,
    )
    return app


def note(recipient, subject="Task assigned to you: Q4 plan"):
    """Return a notification to ``recipient`` on the workspace's templates."""
    return Notification(
        kind="task.assigned",
        recipients=(recipient,),
        subject=subject,
        template="workspace/mail/task_commented",
        context={"actor_name": "Tester", "title": "A task", "body": "Body", "link": None},
    )


def send(app, recipient, subject="Task assigned to you: Q4 plan"):
    """Notify ``recipient`` (sent at once by the immediate queue); return the outbox row."""
    with app.app_context():
        (message_id,) = notify(note(recipient, subject))
        return EmailMessage.get_by_id(message_id)


def read(app):
    """Run ``flask email read-bounces``; return its output."""
    result = app.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert result.exit_code == 0, result.output
    return result.output


def row(app, message_id):
    """Return outbox row ``message_id`` as stored now."""
    with app.app_context():
        return EmailMessage.get_by_id(message_id)


def reports(app):
    """Return every delivery report, oldest first."""
    with app.app_context():
        return list(EmailDeliveryReport.select().order_by(EmailDeliveryReport.id))


def test_the_envelope_sender_is_the_return_path(world, people, smtp_server):
    message = send(world, people["teammate@example.com"])
    assert message.status == SENT
    (envelope,) = smtp_server.received
    assert envelope.mail_from == RETURN_PATH
    # The header From is still the platform's; only the envelope changed.
    (received,) = smtp_server.messages()
    assert received["From"].addresses[0].addr_spec == "notifications@activity-stream.invalid"


def test_a_postfix_bounce_delivered_to_the_maildir_marks_the_message_bounced(
    world, people, smtp_server, return_host
):
    dana = people["teammate@example.com"]
    message = send(world, dana)
    (envelope,) = smtp_server.received
    bounce = dsn_fixtures.postfix_bounce(envelope.original_content, dana.email, envelope.mail_from)
    return_host.deliver(bounce, to=envelope.mail_from)
    assert len(return_host.box) == 1

    output = read(world)
    assert "1 messages read: 1 reports recorded" in output
    stored = row(world, message.id)
    assert stored.delivery == BOUNCED
    assert "hard bounce" in stored.delivery_detail and "5.1.1" in stored.delivery_detail
    assert stored.delivery_at is not None
    assert stored.status == SENT  # the send status is what the SMTP server said: unchanged
    (report,) = reports(world)
    assert (report.source, report.event, report.hard) == ("dsn", BOUNCED, True)
    assert report.status_code == "5.1.1"
    assert report.recipient == dana.email
    assert "User unknown in virtual mailbox table" in report.diagnostic
    assert report.message_id == message.message_id and report.message == message.id
    with world.app_context():
        (held,) = EmailSuppression.select()
        assert held.address == dana.email and held.lifted_at is None
        assert "hard bounce" in held.reason and "5.1.1" in held.reason

    # Read again: the processed message is not read twice, nothing is recorded twice.
    assert "0 messages read" in read(world)
    assert len(reports(world)) == 1
    flags = [m.get_flags() for m in mailbox.Maildir(return_host.path, create=False)]
    assert flags == ["S"]


def test_the_same_dsn_received_twice_is_recorded_once(world, people, smtp_server, return_host):
    dana = people["teammate@example.com"]
    send(world, dana)
    (envelope,) = smtp_server.received
    bounce = dsn_fixtures.postfix_bounce(envelope.original_content, dana.email, RETURN_PATH)
    return_host.deliver(bounce)
    return_host.deliver(bounce)  # the remote system sent it twice
    assert "2 messages read: 1 reports recorded, 1 already recorded" in read(world)
    assert len(reports(world)) == 1


def test_an_exchange_ndr_with_headers_only_is_read(world, people, smtp_server, return_host):
    sam = people["sales@example.com"]
    message = send(world, sam, subject="Document shared with you: Price list")
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.exchange_ndr(envelope.original_content, sam.email, RETURN_PATH)
    )
    read(world)
    stored = row(world, message.id)
    assert stored.delivery == BOUNCED
    (report,) = reports(world)
    assert report.status_code == "5.1.10"
    assert report.diagnostic.startswith("550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    assert report.hard


def test_a_delay_defers_and_suppresses_nothing_then_delivery_wins(
    world, people, smtp_server, return_host
):
    dana = people["teammate@example.com"]
    message = send(world, dana)
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.postfix_delay(envelope.original_content, dana.email, RETURN_PATH)
    )
    read(world)
    stored = row(world, message.id)
    assert stored.delivery == DEFERRED and "4.4.1" in stored.delivery_detail
    with world.app_context():
        assert EmailSuppression.select().count() == 0
    (report,) = reports(world)
    assert report.hard is False and report.action == "delayed"
    return_host.deliver(
        dsn_fixtures.relay_delivered(envelope.original_content, dana.email, RETURN_PATH)
    )
    read(world)
    assert row(world, message.id).delivery == DELIVERED
    # A late delay notice does not take a delivery back.
    return_host.deliver(
        dsn_fixtures.postfix_delay(
            envelope.original_content, dana.email, RETURN_PATH, queue_id="99AA88BB77"
        )
    )
    read(world)
    assert row(world, message.id).delivery == DELIVERED
    assert [r.event for r in reports(world)] == [DEFERRED, DELIVERED, DEFERRED]


def test_messages_without_a_usable_report_are_skipped_and_counted(world, return_host):
    return_host.deliver(dsn_fixtures.out_of_office(RETURN_PATH))
    return_host.deliver(dsn_fixtures.report_without_original(RETURN_PATH))
    return_host.deliver(b"Subject: \xff\xfe broken\r\n\r\n\x00\x01 not a message at all")
    result = world.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert result.exit_code == 0, result.output
    assert "3 messages read: 0 reports recorded" in result.output
    assert "3 skipped (no usable delivery report)" in result.output
    assert "skipped: not a report: text/plain" in result.output
    assert "skipped: the returned message has no Message-ID" in result.output
    assert reports(world) == []
    assert "0 messages read" in read(world)  # marked processed all the same


def test_a_report_about_no_message_of_ours_is_kept_unmatched(world, people, return_host):
    original = (
        b"From: someone@else.example\r\nTo: teammate@example.com\r\n"
        b"Message-ID: <not-ours@else.example>\r\nSubject: x\r\n\r\nbody\r\n"
    )
    return_host.deliver(dsn_fixtures.postfix_bounce(original, "teammate@example.com", RETURN_PATH))
    assert "1 about no message of the outbox" in read(world)
    (report,) = reports(world)
    assert report.message is None and report.message_id == "<not-ours@else.example>"
    with world.app_context():
        assert EmailSuppression.select().count() == 0  # not the platform's message: no one


def test_the_periodic_task_reads_the_maildir(world, people, smtp_server, return_host):
    dana = people["teammate@example.com"]
    message = send(world, dana)
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.postfix_bounce(envelope.original_content, dana.email, RETURN_PATH)
    )
    world.extensions["email.tasks"]["read_bounces"].call_local()
    assert row(world, message.id).delivery == BOUNCED


def test_without_a_mailbox_the_command_says_what_to_set(app):
    result = app.test_cli_runner().invoke(args=["email", "read-bounces"])
    assert result.exit_code != 0
    assert "ACTIVITY_STREAM_EMAIL_BOUNCE_MAILDIR" in result.output


def test_dsn_parse_reads_each_recipient_block():
    original = b"Message-ID: <abc@activity-stream.test>\r\nSubject: x\r\n\r\nbody\r\n"
    (report,) = dsn.parse(dsn_fixtures.postfix_bounce(original, "a@example.org", RETURN_PATH))
    assert report.message_id == "<abc@activity-stream.test>"
    assert (report.event, report.hard, report.status_code) == (BOUNCED, True, "5.1.1")
    assert report.key == "dsn:<20261205213000.3F2A1C0B7E@mx1.example.org> a@example.org failed"
    soft = dsn.parse(
        dsn_fixtures.postfix_bounce(original, "a@example.org", RETURN_PATH, code="4.2.2")
    )
    assert soft[0].event == BOUNCED and soft[0].hard is False
    with pytest.raises(dsn.Unusable, match="not a report"):
        dsn.parse(dsn_fixtures.out_of_office(RETURN_PATH))


# --- suppression: sending, the Email tab, Manage People, Resend ------------------------------


@pytest.fixture
def bounced(world, people, smtp_server, return_host):
    """Dana's address hard-bounced (a Postfix DSN read from the maildir); return her message."""
    dana = people["teammate@example.com"]
    message = send(world, dana)
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.postfix_bounce(envelope.original_content, dana.email, RETURN_PATH)
    )
    read(world)
    return message


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def test_a_suppressed_address_gets_no_notification_but_a_record_of_it(
    world, people, smtp_server, bounced
):
    dana, sam = people["teammate@example.com"], people["sales@example.com"]
    later = send(world, dana, subject="Task completed: Q4 plan")
    assert later.status == SUPPRESSED
    assert later.outcome.startswith("not sent: address suppressed after a hard bounce: 550 5.1.1")
    assert " on 20" in later.outcome  # the day it was suppressed
    assert later.finished_at is not None and later.attempts == 0
    assert len(smtp_server.received) == 1  # only the message that bounced went out
    # Other people are mailed as before.
    assert send(world, sam).status == SENT


def test_the_tab_shows_the_delivery_badge_details_and_filters(world, people, bounced):
    dana = people["teammate@example.com"]
    other = send(world, people["sales@example.com"], subject="Document shared with you")
    suppressed = send(world, dana, subject="Task completed: Q4 plan")
    admin = client_for(world, "admin@example.com")
    page = admin.get("/stream/email").text
    assert re.search(r'class="badge email-delivery delivery-bounced"[^>]*>Bounced<', page)
    assert ">Suppressed<" in page
    ids = lambda text: [int(i) for i in re.findall(r'data-row-id="(\d+)"', text)]  # noqa: E731
    assert ids(admin.get("/stream/email?delivery=bounced").text) == [bounced.id]
    assert ids(admin.get("/stream/email", query_string={"q": "delivery:bounced"}).text) == [
        bounced.id
    ]
    assert set(ids(admin.get("/stream/email?delivery=none").text)) == {other.id, suppressed.id}
    assert ids(admin.get("/stream/email?status=suppressed").text) == [suppressed.id]
    assert ids(admin.get("/stream/email?delivery=suppressed").text) == [suppressed.id]
    both = admin.get("/stream/email", query_string={"q": "delivery:bounced delivery:suppressed"})
    assert set(ids(both.text)) == {bounced.id, suppressed.id}
    others = admin.get("/stream/email", query_string={"q": "-delivery:suppressed"})
    assert set(ids(others.text)) == {bounced.id, other.id}
    refused = admin.get("/stream/email?delivery=lost")
    assert refused.status_code == 400 and "delivery" in refused.text
    detail = admin.get(f"/stream/email/{bounced.id}").text
    assert "Delivery reports received" in detail
    assert "Bounce (DSN)" in detail and "User unknown in virtual mailbox table" in detail
    assert "5.1.1" in detail
    # The row poll and the export carry the same state, through the same query.
    one = admin.get(f"/stream/email/{bounced.id}/row", headers={"HX-Request": "true"}).text
    assert "delivery-bounced" in one
    exported = admin.get("/stream/email/export?format=csv&delivery=bounced")
    assert exported.status_code == 200
    lines = [line for line in exported.text.splitlines() if line.strip()]
    assert len(lines) == 2 and "bounced" in lines[0] + lines[1]


def test_the_delivery_filter_never_shows_another_persons_private_message(
    world, people, smtp_server, return_host
):
    send_private_message = workspace("messages").send_private_message
    pm, fox = people["pm@example.com"], people["fox@example.com"]
    with world.app_context():
        send_private_message(pm, [fox], "Secret plan", "Between us")
        message = EmailMessage.get(EmailMessage.subject == "Secret plan")
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.postfix_bounce(envelope.original_content, fox.email, RETURN_PATH)
    )
    read(world)
    assert row(world, message.id).delivery == BOUNCED
    admin = client_for(world, "admin@example.com")
    assert f'data-row-id="{message.id}"' not in admin.get("/stream/email?delivery=bounced").text
    assert admin.get(f"/stream/email/{message.id}").status_code == 404
    with world.app_context():
        TabGrant.create(tab="email", role=Role.get(Role.name == "Project Manager"))
    sender = client_for(world, "pm@example.com")
    assert f'data-row-id="{message.id}"' in sender.get("/stream/email?delivery=bounced").text


def test_resend_is_refused_while_suppressed_and_warns_after_the_lift(world, people, bounced):
    dana = people["teammate@example.com"]
    admin = client_for(world, "admin@example.com")
    page = admin.get("/stream/email").text
    assert "Address suppressed" in page
    assert f'action="/stream/email/{bounced.id}/resend"' not in page
    refused = admin.post(
        f"/stream/email/{bounced.id}/resend", data={"csrf_token": csrf_token_of(admin)}
    )
    assert refused.status_code == 409
    assert "suppressed" in refused.text and f"/people/{dana.id}" in refused.text
    with world.app_context():
        assert EmailMessage.select().where(EmailMessage.resent_from == bounced.id).count() == 0
        held = EmailSuppression.get()
    owner = client_for(world, "owner@example.com")
    lifted = owner.post(
        f"/email/suppressions/{held.id}/lift", data={"csrf_token": csrf_token_of(owner)}
    )
    assert lifted.status_code == 303
    page = admin.get("/stream/email").text
    assert "This message bounced (hard bounce (DSN): 550 5.1.1" in page  # Resend asks, warning
    sent = admin.post(
        f"/stream/email/{bounced.id}/resend", data={"csrf_token": csrf_token_of(admin)}
    )
    assert sent.status_code == 303


def test_manage_people_shows_the_suppression_and_lifts_it(world, people, smtp_server, bounced):
    dana = people["teammate@example.com"]
    owner = client_for(world, "owner@example.com")
    page = owner.get(f"/people/{dana.id}").text
    assert "Email delivery" in page and "Lift suppression" in page
    assert "teammate@example.com" in page and "5.1.1" in page
    with world.app_context():
        held = EmailSuppression.get()
    url = f"/email/suppressions/{held.id}/lift"
    assert "Lift suppression" not in owner.get(f"/people/{people['sales@example.com'].id}").text

    # Without the form's token: refused, nothing lifted.
    assert owner.post(url).status_code == 400
    # A Staff Member who is not an admin: refused, even with a valid token.
    teammate = client_for(world, "pm@example.com")
    assert teammate.post(url, data={"csrf_token": csrf_token_of(teammate)}).status_code == 403
    # Signed out: sent to sign in.
    anonymous = world.test_client()
    answer = anonymous.post(url, data={"csrf_token": csrf_token_of(anonymous)})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    with world.app_context():
        assert EmailSuppression.get_by_id(held.id).lifted_at is None

    admin = client_for(world, "admin@example.com")
    answer = admin.post(url, data={"csrf_token": csrf_token_of(admin)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/people/{dana.id}")
    with world.app_context():
        lifted = EmailSuppression.get_by_id(held.id)
        assert lifted.lifted_at is not None and lifted.lifted_by == people["admin@example.com"].id
        (event,) = ActivityEvent.select().where(ActivityEvent.verb == "email.suppression_lifted")
        assert event.actor_id == people["admin@example.com"].id
        assert event.object_type == "user" and event.object_id == str(dana.id)
        assert "teammate@example.com" in event.summary
    page = owner.get(f"/people/{dana.id}").text
    assert "Lift suppression" not in page and "the suppression was lifted" in page
    assert admin.post(url, data={"csrf_token": csrf_token_of(admin)}).status_code == 409
    activity = owner.get("/stream/activity").text
    assert "lifted the suppression of email to" in activity
    # Mail goes to the address again.
    assert send(world, dana, subject="Task completed: Q4 plan").status == SENT
    assert len(smtp_server.received) == 2


def test_a_new_hard_bounce_suppresses_again(world, people, smtp_server, return_host, bounced):
    dana = people["teammate@example.com"]
    with world.app_context(), database.atomic():
        from plugins.email import suppression

        suppression.lift(people["owner@example.com"], EmailSuppression.get(), dana)
    send(world, dana, subject="Again")
    envelope = smtp_server.received[-1]
    return_host.deliver(
        dsn_fixtures.postfix_bounce(
            envelope.original_content, dana.email, RETURN_PATH, queue_id="0A0B0C0D0E"
        )
    )
    read(world)
    with world.app_context():
        assert EmailSuppression.select().where(EmailSuppression.lifted_at.is_null()).count() == 1
    assert send(world, dana, subject="Third").status == SUPPRESSED


def test_read_maildir_directly_tallies(world, people, smtp_server, return_host):
    dana = people["teammate@example.com"]
    send(world, dana)
    (envelope,) = smtp_server.received
    return_host.deliver(
        dsn_fixtures.exchange_ndr(envelope.original_content, dana.email, RETURN_PATH)
    )
    with world.app_context():
        tally = bounces.read_maildir(return_host.path)
    assert (tally.messages, tally.recorded, tally.skipped) == (1, 1, 0)


def test_pseudonymising_the_person_replaces_their_address_in_reports_and_suppressions(
    world, people, bounced
):
    from plugins.people import pseudonyms

    dana, owner = people["teammate@example.com"], people["owner@example.com"]
    with world.test_request_context():
        pseudonyms.pseudonymise(owner, dana)
        (report,) = EmailDeliveryReport.select()
        (held,) = EmailSuppression.select()
    for text in (report.recipient, report.diagnostic, held.address, held.reason):
        assert "teammate@example.com" not in text
    assert held.address.endswith("@pseudonymised.invalid")


def test_the_export_of_a_person_holds_their_address_suppression(world, people, bounced):
    import json

    dana = people["teammate@example.com"]
    owner = client_for(world, "owner@example.com")
    answer = owner.post(f"/people/{dana.id}/export", data={"csrf_token": csrf_token_of(owner)})
    lines = [json.loads(line) for line in answer.get_data(as_text=True).splitlines() if line]
    (held,) = [line for line in lines if line["kind"] == "email_suppression"]
    assert held["address"] == dana.email and "5.1.1" in held["reason"]
    (mail,) = [line for line in lines if line["kind"] == "email"]
    assert mail["delivery"] == BOUNCED


def test_a_bounce_with_control_characters_is_stored_on_one_line(world, people, smtp_server):
    from plugins.email import delivery

    message = send(world, people["teammate@example.com"])
    with world.app_context():
        result, _ = delivery.record(
            delivery.Report(
                key="dsn:<x@y> a failed",
                source="dsn",
                message_id=message.message_id,
                recipient="teammate@example.com\x00",
                event=BOUNCED,
                hard=True,
                status_code="5.1.1",
                diagnostic="550 5.1.1\x00 no\r\nsuch user",
            )
        )
        assert result == delivery.RECORDED
        (report,) = EmailDeliveryReport.select()
    assert report.diagnostic == "550 5.1.1 no such user" and report.recipient.endswith(".com")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"//79/A==\r\n--b--\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; a@b\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b\r\n"
        b"Content-Type: message/rfc822\r\n\r\n--b--\r\n",
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; a@b\r\nAction: exploded\r\n\r\n--b\r\n"
        b"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <m@x>\r\n\r\n--b--\r\n",
    ],
)
def test_odd_messages_are_skipped_never_raised(raw):
    tally = bounces.Tally()
    bounces.process(raw, tally)
    assert (tally.messages, tally.skipped, tally.recorded) == (1, 1, 0)


def test_a_password_link_still_goes_to_a_suppressed_address(world, people, smtp_server, bounced):
    dana = people["teammate@example.com"]
    owner = client_for(world, "owner@example.com")
    answer = owner.post(
        f"/people/{dana.id}/password-link", data={"csrf_token": csrf_token_of(owner)}
    )
    assert answer.status_code in (200, 302, 303)
    with world.app_context():
        link = EmailMessage.get(EmailMessage.subject == "Reset your password")
    assert link.status == SENT  # asked for now, by a person: not a notification
    assert len(smtp_server.received) == 2
