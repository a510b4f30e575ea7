"""Pseudonymise this person (Manage People): their name, email, addresses and user agents gone
from every tab's records, a stable pseudonym in their place, the account deactivated, the act
recorded, and the seals still verifying. SQLite and PostgreSQL."""

import json

import pytest

from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import seal_all
from core.evidence.verify import verify
from core.people import User
from core.testing import PASSWORD
from plugins.email.models import EmailMessage
from plugins.people.pseudonyms import pseudonym_of
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace

send_private_message = workspace("messages").send_private_message
services = workspace("services")

NAME, EMAIL = "Dana Scully", "teammate@example.com"


@pytest.fixture
def history(app, people):
    """Dana signs in (twice, once mistyped), acts, is acted on, mentioned, and mailed; sealed."""
    for password in ("wrong", PASSWORD):
        client = app.test_client()
        sign_in(client, EMAIL, password)
        client.get("/stream", headers={"User-Agent": "DanaBrowser/1.0"})
    dana, pm = people[EMAIL], people["pm@example.com"]
    with app.app_context():
        with app.test_request_context(headers={"User-Agent": "DanaBrowser/1.0"}):
            record_activity(dana, "task.updated", Ref("task", 1, "Q3 report"))
        record_activity(pm, "user.updated", Ref("user", dana.id, NAME), summary="role changed")
        record_activity(
            pm,
            "task.assigned",
            Ref("task", 2, "Ask Dana Scully"),
            changes={"assignee": [None, NAME], "note": [None, f"mail {EMAIL}"]},
            audience=Audience(users={dana.id}),
        )
        unrelated = record_activity(pm, "task.updated", Ref("task", 3, "Fox's task")).id
        send_private_message(pm, [dana], "Hello Dana Scully", "Body for Dana Scully")
        send_private_message(pm, [people["fox@example.com"]], "Not about her", "Hi Fox")
        seal_all()
    return {"unrelated": unrelated}


def pseudonymise(app, actor_email, person_id):
    client = app.test_client()
    assert sign_in(client, actor_email).status_code == 302
    return client.post(
        f"/people/{person_id}/pseudonymise",
        data={"csrf_token": csrf_token_of(client), "confirm": "yes"},
    )


def everything_text(app):
    """Return every record of the tables the person may appear in, as one text."""
    with app.app_context():
        rows = []
        for model in (ActivityEvent, SignInAttempt, UserSession, EmailMessage, User):
            rows += [json.dumps(row, default=str) for row in model.select().dicts()]
        return "\n".join(rows)


def test_the_person_is_gone_from_every_record_and_the_seals_verify(app, people, history):
    dana = people[EMAIL]
    before = everything_text(app)
    assert NAME in before and EMAIL in before and "DanaBrowser" in before
    answer = pseudonymise(app, "admin@example.com", dana.id)
    assert answer.status_code in (200, 303), answer.text
    after = everything_text(app)
    for trace in (NAME, EMAIL, "DanaBrowser", "Scully"):
        assert trace.casefold() not in after.casefold(), trace
    with app.app_context():
        name, email = pseudonym_of(dana)
        user = User.get_by_id(dana.id)
        assert (user.name, user.email, user.active) == (name, email, False)
        assert name.startswith("Person ") and len(name) == len("Person 7f3a")
        assert not user.check_password(PASSWORD)
        assert name in after and email in after
        # Others' records stay as they were.
        assert ActivityEvent.get_by_id(history["unrelated"]).object_label == "Fox's task"
        other = EmailMessage.get(EmailMessage.subject == "Not about her")
        assert "Hi Fox" in other.text_body and other.sender_name == "Priya Patel"
        # Their sign-ins keep their outcome, lose the address.
        theirs = SignInAttempt.select().where(SignInAttempt.user_id == dana.id)
        assert {row.ip for row in theirs} == {None} and theirs.count() >= 2
        (act,) = ActivityEvent.select().where(ActivityEvent.verb == "user.pseudonymised")
        assert act.actor_name == "Avery Chen" and act.object_label == name
        report = verify()
        assert report.ok, [f.text() for f in report.findings]
        seal_all()
        assert verify().ok
    # Stable: the same person, the same pseudonym; and not twice.
    assert pseudonymise(app, "admin@example.com", dana.id).status_code == 400
    client = app.test_client()
    assert sign_in(client, EMAIL).status_code != 302  # the account is gone for good
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    answer = admin.post(f"/people/{dana.id}/reactivate", data={"csrf_token": csrf_token_of(admin)})
    assert answer.status_code == 400 and "stays closed" in answer.text
    with app.app_context():
        assert not User.get_by_id(dana.id).active


def test_only_admins_and_not_the_owner_or_oneself(app, people, history):
    dana, owner = people[EMAIL], people["owner@example.com"]
    assert pseudonymise(app, "pm@example.com", dana.id).status_code == 403
    assert pseudonymise(app, "admin@example.com", owner.id).status_code == 400
    admin = people["admin@example.com"]
    assert pseudonymise(app, "admin@example.com", admin.id).status_code == 400
    assert pseudonymise(app, "admin@example.com", 99999).status_code == 404
    with app.app_context():
        assert User.get_by_id(dana.id).name == NAME  # untouched by the refusals
    client = app.test_client()
    sign_in(client, "admin@example.com")
    token = csrf_token_of(client)
    # Without the confirmation box ticked: refused with a message naming it.
    answer = client.post(f"/people/{dana.id}/pseudonymise", data={"csrf_token": token})
    assert answer.status_code == 400 and "confirm" in answer.text
    with app.app_context():
        assert User.get_by_id(dana.id).name == NAME


def test_the_bundle_of_a_pseudonymised_person_holds_no_trace(app, people, history):
    dana = people[EMAIL]
    pseudonymise(app, "admin@example.com", dana.id)
    client = app.test_client()
    sign_in(client, "admin@example.com")
    answer = client.post(f"/people/{dana.id}/export", data={"csrf_token": csrf_token_of(client)})
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    assert body and NAME not in body and EMAIL not in body


def test_a_failure_midway_can_be_run_again(app, people, history, monkeypatch):
    from plugins.people import pseudonyms

    dana = people[EMAIL]
    with app.app_context():
        admin = User.get(User.email == "admin@example.com")

        def broken(person, new_email):
            raise RuntimeError("disk full")

        monkeypatch.setattr(pseudonyms, "_sign_ins", broken)
        with pytest.raises(RuntimeError):
            pseudonyms.pseudonymise(admin, User.get_by_id(dana.id))
        monkeypatch.undo()
        assert User.get_by_id(dana.id).name == NAME  # renamed last: the run can be repeated
        pseudonyms.pseudonymise(admin, User.get_by_id(dana.id))
    assert NAME not in everything_text(app)
    with app.app_context():
        assert verify().ok
