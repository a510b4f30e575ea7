"""The outbox and the sender: messages queued with their action, sent to a real SMTP server.

Every test runs on SQLite and PostgreSQL; mail goes to a real aiosmtpd server on 127.0.0.1.
"""

from datetime import timedelta

import pytest

from core.db import database
from core.db import utcnow
from core.notifications import Notification
from core.notifications import notify
from core.people import User
from core.people import create_user
from plugins.email import sender
from plugins.email.models import FAILED
from plugins.email.models import KEPT
from plugins.email.models import QUEUED
from plugins.email.models import SENDING
from plugins.email.models import SENT
from plugins.email.models import EmailAttempt
from plugins.email.models import EmailMessage
from tests.examples import workspace

# The mail here is the workspace example's: its actions and its templates.
services = workspace("services")


def note(recipients, subject="Hello", sender_user=None, kind="test.note", body="Body text"):
    """Return a notification on the task-commented templates (any pair would do)."""
    return Notification(
        kind=kind,
        recipients=tuple(recipients),
        subject=subject,
        template="workspace/mail/task_commented",
        context={"actor_name": "Tester", "title": "A task", "body": body, "link": None},
        sender=sender_user,
    )


def messages():
    """Return every outbox row, oldest first."""
    return list(EmailMessage.select().order_by(EmailMessage.id))


def settings(app, **changes):
    """Return the app's sender settings with ``changes``."""
    from dataclasses import replace

    return replace(app.extensions["email.settings"], **changes)


@pytest.fixture
def queued_app(make_app, people):
    """An app whose queue never runs the tasks: messages stay queued for the test to deliver."""
    del people
    return make_app(HUEY_IMMEDIATE=False)


def test_a_message_commits_with_its_action_or_not_at_all(app, people):
    teammate = people["teammate@example.com"]
    with app.app_context():
        with pytest.raises(RuntimeError), database.atomic():
            User.update(time_zone="Europe/Paris").where(User.id == teammate.id).execute()
            assert notify(note([teammate]))
            raise RuntimeError("the action fails after queueing its message")
        assert messages() == []
        assert User.get_by_id(teammate.id).time_zone != "Europe/Paris"
        with database.atomic():
            (message_id,) = notify(note([teammate]))
        assert [m.id for m in messages()] == [message_id]


def test_without_smtp_a_message_is_kept_in_the_local_outbox(app, people):
    with app.app_context():
        notify(note([people["teammate@example.com"]]))
        (message,) = messages()
        assert message.status == KEPT
        assert "kept in the local outbox" in message.outcome
        assert [a.result for a in EmailAttempt.select()] == ["kept"]


def test_the_smtp_server_receives_both_parts_and_our_message_id(make_app, people, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    pm, teammate = people["pm@example.com"], people["teammate@example.com"]
    with app.app_context():
        notify(note([teammate], subject="Q3 report: comments", sender_user=pm, body="Ship it"))
        (message,) = messages()
    assert message.status == SENT, message.outcome
    assert message.outcome.startswith("250 ")
    (envelope,) = smtp_server.received
    assert envelope.rcpt_tos == ["teammate@example.com"]
    (received,) = smtp_server.messages()
    assert received["Message-ID"] == message.message_id
    assert received["Subject"] == "Q3 report: comments"
    assert received["To"].addresses[0].addr_spec == "teammate@example.com"
    assert "Priya Patel" in received["From"].addresses[0].display_name
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Ship it" in text and "<blockquote" not in text
    assert "Ship it" in html and "<blockquote" in html


def test_headers_cannot_be_injected(make_app, people, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        with database.atomic():
            eve = create_user("Eve\r\nBcc: victim@evil.example", "eve@example.com", "Teammate")
        subject = "Hi\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>"
        notify(note([eve], subject=subject, sender_user=eve))
        (message,) = messages()
    assert "\n" not in message.subject and "\r" not in message.subject
    (envelope,) = smtp_server.received
    assert envelope.rcpt_tos == ["eve@example.com"]  # nobody added by a header
    (received,) = smtp_server.messages()
    assert received["Bcc"] is None
    assert received["Subject"] == "Hi Bcc: victim@evil.example <b>body</b>"
    assert [a.addr_spec for a in received["To"].addresses] == ["eve@example.com"]


def test_only_platform_users_receive_mail(app, people):
    with app.app_context():
        stranger = User(id=999_999, name="Stranger", email="stranger@evil.example")
        with pytest.raises(ValueError, match="recipients"):
            notify(note([stranger]))
        with pytest.raises(ValueError, match="recipients"):
            notify(note(["someone@evil.example"]))
        assert messages() == []
        # An address that could smuggle a header in is refused at once, on record.
        with database.atomic():
            user = create_user("Odd", "odd@example.com", "Teammate")
            User.update(email="odd@example.com>, <x@evil.example").where(
                User.id == user.id
            ).execute()
        notify(note([User.get_by_id(user.id)]))
        (message,) = messages()
        assert message.status == FAILED and "not a deliverable address" in message.outcome


def test_a_permanent_refusal_fails_at_once(queued_app, people, smtp_server):
    smtp_server.answer = "550 5.1.1 Mailbox unavailable"
    with queued_app.app_context():
        (message_id,) = notify(note([people["teammate@example.com"]]))
        wait = sender.deliver(message_id, settings(queued_app, smtp_url=smtp_server.url))
        message = EmailMessage.get_by_id(message_id)
    assert wait is None
    assert message.status == FAILED and "550" in message.outcome
    assert message.attempts == 1


def test_a_temporary_refusal_is_retried_with_a_doubling_wait(queued_app, people, smtp_server):
    smtp_server.answer = "451 4.3.0 Try again later"
    config = settings(queued_app, smtp_url=smtp_server.url, retry_seconds=10, max_attempts=3)
    with queued_app.app_context():
        (message_id,) = notify(note([people["teammate@example.com"]]))
        assert sender.deliver(message_id, config) == 10
        assert EmailMessage.get_by_id(message_id).status == QUEUED
        assert sender.deliver(message_id, config) == 20
        assert sender.deliver(message_id, config) is None  # the third try was the last
        message = EmailMessage.get_by_id(message_id)
        results = [a.result for a in EmailAttempt.select().order_by(EmailAttempt.id)]
    assert message.status == FAILED and "451" in message.outcome and message.attempts == 3
    assert results == ["temporary"] * 3


def test_smtp_down_then_back_sends_with_the_same_message_id(queued_app, people, smtp_server):
    smtp_server.stop()
    config = settings(queued_app, smtp_url=smtp_server.url, retry_seconds=1)
    with queued_app.app_context():
        (message_id,) = notify(note([people["teammate@example.com"]]))
        planned = EmailMessage.get_by_id(message_id).message_id
        assert sender.deliver(message_id, config) == 1
        assert sender.deliver(message_id, config) == 2
        failures = [a.detail for a in EmailAttempt.select()]
        assert len(failures) == 2 and all("Refused" in detail for detail in failures), failures
        smtp_server.start()
        assert sender.deliver(message_id, config) is None
        message = EmailMessage.get_by_id(message_id)
    assert message.status == SENT and message.attempts == 3
    (received,) = smtp_server.messages()
    assert received["Message-ID"] == planned == message.message_id


def test_a_message_is_sent_once_however_often_it_is_handed_over(queued_app, people, smtp_server):
    config = settings(queued_app, smtp_url=smtp_server.url)
    with queued_app.app_context():
        (message_id,) = notify(note([people["teammate@example.com"]]))
        for _ in range(3):
            sender.deliver(message_id, config)
    assert len(smtp_server.received) == 1


def test_the_sweep_requeues_only_messages_past_their_lease(queued_app, people):
    with queued_app.app_context():
        first, second, third = (notify(note([people["teammate@example.com"]]))[0] for _ in range(3))
        assert sender.claim(first, lease_seconds=300).status == SENDING  # a worker holds it
        assert sender.sweep(lease_seconds=300) == []  # every lease still runs
        past = utcnow() - timedelta(seconds=1)
        EmailMessage.update(lease_until=past).where(EmailMessage.id.in_([first, second])).execute()
        assert sender.sweep(lease_seconds=300) == [first, second]
        statuses = {m.id: m.status for m in messages()}
        assert statuses == {first: QUEUED, second: QUEUED, third: QUEUED}
        assert sender.sweep(lease_seconds=300) == []  # leased again


# --- notifications from workspace actions ----------------------------------------------------


def sent_to(kind):
    """Return the emails of the recipients of ``kind``, sorted."""
    query = EmailMessage.select().where(EmailMessage.kind == kind)
    return sorted(message.recipient_email for message in query)


def test_workspace_actions_notify_the_right_people(app, people):
    pm, teammate, fox = (people[f"{n}@example.com"] for n in ("pm", "teammate", "fox"))
    client, admin = people["client@example.com"], people["admin@example.com"]
    with app.app_context():
        task = services.create_task(pm, title="Q4 plan", assignees=[pm, teammate])
        assert sent_to("task.assigned") == ["teammate@example.com"]  # not the actor
        services.update_task(pm, task, assignees=[pm, teammate, fox])
        assert sent_to("task.assigned") == ["fox@example.com", "teammate@example.com"]
        services.comment_on_task(teammate, task, "Draft attached")
        assert sent_to("task.commented") == ["fox@example.com", "pm@example.com"]
        services.complete_tasks(teammate, [task])
        assert sent_to("task.completed") == ["pm@example.com"]
        services.create_document(admin, title="NDA", shared_with=[client])
        assert sent_to("document.shared") == ["client@example.com"]
        comment = EmailMessage.get(EmailMessage.kind == "task.commented")
        assert "Draft attached" in comment.text_body and comment.sender_name == "Dana Scully"


def test_a_failed_action_queues_no_mail(app, people):
    pm, teammate = people["pm@example.com"], people["teammate@example.com"]
    with app.app_context():
        with pytest.raises(RuntimeError), database.atomic():
            services.create_task(pm, title="Doomed", assignees=[teammate])
            raise RuntimeError("rolled back")
        assert messages() == []
