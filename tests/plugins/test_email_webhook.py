"""A provider's signed delivery events: ``POST /email/delivery-events``, SQLite and PostgreSQL.

Signed as docs/email.md says (``Activity-Stream-Signature: t=…,v1=…``, HMAC-SHA256 of
``"<t>.<body>"``), refused when unsigned, wrongly signed, stale or malformed, each with a JSON
error naming the problem; idempotent on the event's id; an unknown Message-ID is kept and said
unmatched. One test runs the app under gunicorn and posts over a real socket.
"""

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.notifications import Notification
from core.notifications import notify
from plugins.email.models import BOUNCED
from plugins.email.models import COMPLAINED
from plugins.email.models import DELIVERED
from plugins.email.models import SUPPRESSED
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage
from plugins.email.models import EmailSuppression
from tests.conftest import stop_process
from tests.examples import workspace

workspace("services")  # the mail templates are the workspace example's

SECRET = "whsec-test-0123456789abcdef"
NEW_SECRET = "whsec-rotated-fedcba9876543210"
URL = "/email/delivery-events"
HEADER = "Activity-Stream-Signature"


def signed(body, secret=SECRET, timestamp=None):
    """Return the signature header's value for ``body``, as a provider computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@pytest.fixture
def hooked(make_app, people):
    """An app taking events signed with either secret (a rotation), one message sent."""
    app = make_app(EMAIL_WEBHOOK_SECRETS=f"{SECRET},{NEW_SECRET}")
    dana = people["teammate@example.com"]
    with app.app_context():
        (message_id,) = notify(
            Notification(
                kind="task.assigned",
                recipients=(dana,),
                subject="Task assigned to you: Q4 plan",
                template="workspace/mail/task_commented",
                context={"actor_name": "T", "title": "A task", "body": "B", "link": None},
            )
        )
        app.message = EmailMessage.get_by_id(message_id)
    return app


def event(message, kind="delivered", event_id="evt_1", **extra):
    """Return one event about ``message`` in the documented shape."""
    return {
        "id": event_id,
        "type": kind,
        "message_id": message.message_id,
        "recipient": message.recipient_email,
        "occurred_at": "2026-12-05T21:30:00Z",
        "detail": "250 2.0.0 OK",
        **extra,
    }


def post(app, events, secret=SECRET, header=None, body=None):
    """POST ``events`` (or the raw ``body``) signed with ``secret`` (or ``header``)."""
    body = json.dumps(events).encode() if body is None else body
    headers = {HEADER: signed(body, secret) if header is None else header}
    if header == "":
        headers = {}
    return app.test_client().post(URL, data=body, headers=headers, content_type="application/json")


def test_a_signed_event_marks_the_message_delivered(hooked):
    message = hooked.message
    answer = post(hooked, [event(message)])
    assert answer.status_code == 200, answer.text
    assert answer.json["recorded"] == 1 and answer.json["unmatched"] == 0
    assert answer.json["results"] == [{"id": "evt_1", "result": "recorded"}]
    with hooked.app_context():
        stored = EmailMessage.get_by_id(message.id)
        assert stored.delivery == DELIVERED and "provider event" in stored.delivery_detail
        assert stored.delivery_at.isoformat() == "2026-12-05T21:30:00"
        (report,) = EmailDeliveryReport.select()
        assert (report.source, report.event, report.message) == ("webhook", DELIVERED, message.id)
        assert report.key == "webhook:evt_1" and report.diagnostic == "250 2.0.0 OK"


def test_the_same_event_twice_is_recorded_once(hooked):
    message = hooked.message
    assert post(hooked, [event(message)]).json["recorded"] == 1
    again = post(hooked, [event(message), event(message, "deferred", "evt_2")])
    assert again.status_code == 200
    assert again.json["results"] == [
        {"id": "evt_1", "result": "duplicate"},
        {"id": "evt_2", "result": "recorded"},
    ]
    with hooked.app_context():
        assert EmailDeliveryReport.select().count() == 2
        # A late "deferred" does not take the delivery back.
        assert EmailMessage.get_by_id(message.id).delivery == DELIVERED


def test_an_unknown_message_id_is_accepted_and_said_unmatched(hooked):
    stray = event(hooked.message, event_id="evt_stray", message_id="<nobody@else.example>")
    answer = post(hooked, [stray])
    assert answer.status_code == 200
    assert answer.json["unmatched"] == 1 and answer.json["unmatched_ids"] == ["evt_stray"]
    with hooked.app_context():
        (report,) = EmailDeliveryReport.select()
        assert report.message is None and report.message_id == "<nobody@else.example>"


def test_a_hard_bounce_or_a_complaint_suppresses_a_soft_bounce_does_not(hooked, people):
    message = hooked.message
    soft = event(message, "bounced", "evt_soft", hard=False, status="4.2.2", detail="mailbox full")
    assert post(hooked, [soft]).json["recorded"] == 1
    with hooked.app_context():
        assert EmailSuppression.select().count() == 0
        assert EmailMessage.get_by_id(message.id).delivery == BOUNCED
    hard = event(message, "bounced", "evt_hard", status="5.1.1", detail="no such user")
    assert post(hooked, [hard]).json["recorded"] == 1
    with hooked.app_context():
        (held,) = EmailSuppression.select()
        assert held.address == "teammate@example.com" and "5.1.1 no such user" in held.reason
        EmailSuppression.update(lifted_at=held.suppressed_at).execute()
    complaint = event(message, "complained", "evt_spam", detail="abuse report")
    assert post(hooked, [complaint]).json["recorded"] == 1
    with hooked.app_context():
        assert EmailMessage.get_by_id(message.id).delivery == COMPLAINED
        active = EmailSuppression.select().where(EmailSuppression.lifted_at.is_null())
        assert "complaint" in active.get().reason
        (later,) = notify(
            Notification(
                kind="task.completed",
                recipients=(people["teammate@example.com"],),
                subject="Later",
                template="workspace/mail/task_commented",
                context={"actor_name": "T", "title": "A task", "body": "B", "link": None},
            )
        )
        assert EmailMessage.get_by_id(later).status == SUPPRESSED


def test_the_rotated_secret_is_accepted_too(hooked):
    answer = post(hooked, [event(hooked.message)], secret=NEW_SECRET)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("header", "status", "words"),
    [
        ("", 401, "Activity-Stream-Signature: missing"),
        ("t=1,v1=abc", 401, "stale"),
        ("v1=abc", 400, "needs one t="),
        ("garbage", 400, "malformed"),
        ("t=now,v1=abc", 400, "needs one t="),
    ],
)
def test_unsigned_or_malformed_signatures_are_refused(hooked, header, status, words):
    answer = post(hooked, [event(hooked.message)], header=header)
    assert answer.status_code == status
    assert answer.is_json and words in answer.json["error"]
    with hooked.app_context():
        assert EmailDeliveryReport.select().count() == 0


def test_a_wrong_secret_or_an_altered_body_is_refused(hooked):
    body = json.dumps([event(hooked.message)]).encode()
    wrong = post(hooked, None, body=body, header=signed(body, "another-secret-0123456789"))
    assert wrong.status_code == 401 and "no v1 signature matches" in wrong.json["error"]
    altered = body.replace(b"delivered", b"complained")
    answer = post(hooked, None, body=altered, header=signed(body))
    assert answer.status_code == 401
    with hooked.app_context():
        assert EmailDeliveryReport.select().count() == 0


def test_a_stale_or_future_signature_is_refused(hooked):
    body = json.dumps([event(hooked.message)]).encode()
    # Well past the five minutes either way: the header holds whole seconds, the check
    # reads the clock a moment later.
    for offset in (-310, 310):
        header = signed(body, timestamp=int(time.time()) + offset)
        answer = post(hooked, None, body=body, header=header)
        assert answer.status_code == 401 and "stale" in answer.json["error"]
    # Within the five minutes: accepted.
    header = signed(body, timestamp=int(time.time()) - 240)
    assert post(hooked, None, body=body, header=header).status_code == 200


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{not json", "body: not JSON"),
        (b'{"id": "x"}', "body: expected a JSON list"),
        (b"[]", "body: the list holds no event"),
        (b"[1]", "events[0]: expected an object"),
        (b'[{"type": "delivered"}]', "events[0].id: required"),
    ],
)
def test_bad_bodies_are_refused_naming_the_field(hooked, payload, words):
    answer = post(hooked, None, body=payload)
    assert answer.status_code == 400
    assert words in answer.json["error"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"type": "opened"}, "events[1].type: one of delivered, deferred, bounced, complained"),
        ({"occurred_at": "yesterday"}, "events[1].occurred_at: expected an ISO 8601 time"),
        ({"occurred_at": "2026-12-05T21:30:00"}, "events[1].occurred_at: needs its zone"),
        ({"recipient": "nobody"}, "events[1].recipient: expected an email address"),
        ({"message_id": 42}, "events[1].message_id: required"),
        ({"detail": "x" * 501}, "events[1].detail"),
        ({"hard": "yes"}, "events[1].hard: true or false"),
        ({"id": "x" * 201}, "events[1].id: at most 200 characters"),
    ],
)
def test_bad_fields_are_refused_naming_them_and_nothing_is_recorded(hooked, change, words):
    good = event(hooked.message)
    bad = {**event(hooked.message, event_id="evt_bad"), **change}
    answer = post(hooked, [good, bad])
    assert answer.status_code == 400
    assert words in answer.json["error"]
    with hooked.app_context():
        assert EmailDeliveryReport.select().count() == 0


def test_a_body_too_large_is_refused(make_app, people):
    del people
    app = make_app(EMAIL_WEBHOOK_SECRETS=SECRET, EMAIL_WEBHOOK_MAX_BODY=2048)
    body = json.dumps([{"id": "x", "detail": "y" * 4000}]).encode()
    answer = app.test_client().post(URL, data=body, headers={HEADER: signed(body)})
    assert answer.status_code == 413 and "body: larger than 2,048 bytes" in answer.json["error"]


def test_without_a_secret_the_endpoint_is_off(app):
    answer = app.test_client().post(URL, data=b"[]", headers={HEADER: signed(b"[]")})
    assert answer.status_code == 404 and "no signing secret" in answer.json["error"]


def test_it_needs_no_session_and_no_csrf_token_and_takes_no_get(hooked):
    # test_client without a session or a CSRF token: the signature is the credential.
    assert post(hooked, [event(hooked.message)]).status_code == 200
    assert hooked.test_client().get(URL).status_code == 405


# --- over a real socket: gunicorn as in production -----------------------------------------

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_served_app_takes_a_signed_event_over_http(tmp_path):
    # Once, on SQLite: the client tests above run the same code on both databases.
    env = dict(
        os.environ,
        ACTIVITY_STREAM_DATABASE_URL=f"sqlite:///{tmp_path}/stream.db",
        ACTIVITY_STREAM_HUEY_URL=f"sqlite:///{tmp_path}/huey.db",
        ACTIVITY_STREAM_SECRET_KEY="served-webhook-secret-key-0123456789",
        ACTIVITY_STREAM_EMAIL_WEBHOOK_SECRETS=SECRET,
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    script = (
        "from wsgi import app\n"
        "from core.db import database\n"
        "from plugins.email.models import EmailMessage\n"
        "with app.app_context(), database.atomic():\n"
        "    EmailMessage.create(kind='notice', recipient_id=1, recipient_name='Dana',\n"
        "        recipient_email='dana@example.com', subject='Hi', text_body='Hi',\n"
        "        html_body='<p>Hi</p>', message_id='<served-1@activity-stream.test>',\n"
        "        status='sent')\n"
    )
    subprocess.run([str(BIN / "python"), "-c", script], cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 (kept open for the server)
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:core.serving", "-w", "1"]
        + ["-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/login", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text())
                time.sleep(0.1)
        events = [
            {
                "id": "evt_served",
                "type": "bounced",
                "message_id": "<served-1@activity-stream.test>",
                "recipient": "dana@example.com",
                "occurred_at": "2026-12-05T21:30:00+01:00",
                "detail": "550 5.1.1 user unknown",
            }
        ]
        body = json.dumps(events).encode()
        request = urllib.request.Request(
            f"{base}{URL}",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", HEADER: signed(body)},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["recorded"] == 1
        unsigned = urllib.request.Request(f"{base}{URL}", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=10)
        assert refused.value.code == 401
        assert "missing" in json.loads(refused.value.read())["error"]
    finally:
        stop_process(server)
        log.close()
    check = (
        "from wsgi import app\n"
        "from plugins.email.models import EmailMessage, EmailSuppression\n"
        "with app.app_context():\n"
        "    m = EmailMessage.get()\n"
        "    print(m.delivery, m.delivery_at.isoformat(), EmailSuppression.get().address)\n"
    )
    out = subprocess.run(
        [str(BIN / "python"), "-c", check], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.stdout.split() == ["bounced", "2026-12-05T20:30:00", "dana@example.com"]


def test_nul_characters_and_deep_nesting_are_refused_not_a_500(hooked):
    bad = event(hooked.message, detail="a\x00b")
    answer = post(hooked, [bad])
    assert answer.status_code == 400 and "events[0].detail: holds a NUL" in answer.json["error"]
    deep = b"[" * 50_000 + b"]" * 50_000
    answer = post(hooked, None, body=deep)
    assert answer.status_code == 400 and "body: not JSON" in answer.json["error"]
