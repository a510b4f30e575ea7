"""Settings > Integrity, through its real routes: the seals shown, Seal now, Verify integrity
(intact, then tampering named), each verification recorded, behind the Settings gate."""

import json

import pytest

from core.db import database
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import SealBlock
from core.evidence.seal import head_text
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}
SEAL = "/stream/settings/integrity/seal"
VERIFY = "/stream/settings/integrity/verify"


# Tamper as someone who may drop the tables' triggers: only the seals can show it.
pytestmark = pytest.mark.usefixtures("guard_lifted")


def signed_in(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url, htmx=True, **form):
    """POST ``form`` to ``url`` with the session's CSRF token."""
    form["csrf_token"] = csrf_token_of(client)
    return client.post(url, data=form, headers=HTMX if htmx else {})


def record_some(app, people, count=5):
    with app.app_context():
        actor = people["admin@example.com"]
        return [
            record_activity(actor, "task.updated", Ref("task", n, "T")).id for n in range(count)
        ]


def verifications(app):
    """Return the change sets of the recorded verifications, oldest first."""
    with app.app_context():
        query = ActivityEvent.select().where(ActivityEvent.verb == "integrity.verified")
        return [json.loads(event.changes) for event in query.order_by(ActivityEvent.id)]


def test_the_section_shows_what_is_not_yet_sealed_and_seal_now_seals_it(app, people):
    record_some(app, people)
    client = signed_in(app, "admin@example.com")
    page = client.get("/stream/settings")
    assert 'id="integrity"' in page.text and "Verify integrity" in page.text
    assert '<td data-label="Not yet sealed">5 records</td>' in page.text  # the 5 events
    answer = post(client, SEAL)
    assert answer.text.count('<td data-label="Not yet sealed">0 records</td>') == 2
    assert answer.status_code == 200
    assert "new block(s) sealed" in answer.text
    with app.app_context():
        assert SealBlock.select().count() >= 1
        assert head_text("activity") in answer.text  # the head to keep elsewhere


def test_verify_says_intact_then_names_the_tampered_record_and_is_recorded(app, people):
    ids = record_some(app, people)
    client = signed_in(app, "owner@example.com")
    post(client, SEAL)
    intact = post(client, VERIFY)
    assert "Intact." in intact.text
    with app.app_context():
        database.execute_sql(
            f"UPDATE activity_event SET summary = 'rewritten' WHERE id = {database.param}",
            (ids[2],),
        )
    found = post(client, VERIFY)
    assert "Tampering found." in found.text
    assert f"field modified at record {ids[2]}" in found.text
    outcomes = [changes["outcome"][1] for changes in verifications(app)]
    assert outcomes == ["intact", "tampering found"]


def test_a_head_given_back_shows_a_cut_tail(app, people):
    ids = record_some(app, people)
    client = signed_in(app, "admin@example.com")
    post(client, SEAL)
    with app.app_context():
        head = head_text("activity")
        SealBlock.delete().execute()
        ActivityEvent.delete().where(ActivityEvent.id.in_(ids)).execute()
        ActivityAudience.delete().where(ActivityAudience.event.in_(ids)).execute()
    answer = post(client, VERIFY, heads=head)
    assert "tail truncated" in answer.text


def test_without_javascript_the_report_is_on_the_whole_settings_page(app, people):
    record_some(app, people)
    client = signed_in(app, "admin@example.com")
    answer = post(client, VERIFY, htmx=False)
    assert answer.status_code == 200
    assert "<html" in answer.text and "Intact." in answer.text


def test_only_the_owner_and_admins_reach_it(app, people):
    for email in ("pm@example.com", "teammate@example.com", "client@example.com"):
        client = signed_in(app, email)
        assert post(client, VERIFY).status_code == 403, email
        assert post(client, SEAL).status_code == 403, email
    assert app.test_client().post(VERIFY).status_code in (302, 401)
    assert verifications(app) == []


def test_the_actions_need_the_csrf_token(app, people):
    client = signed_in(app, "admin@example.com")
    assert client.post(VERIFY, headers=HTMX).status_code in (400, 403)
    assert verifications(app) == []
