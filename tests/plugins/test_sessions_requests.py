"""What did this session do: every action carries the session and the request it came from;
``session:`` and ``request:`` list them; a sign-in row links to its session's actions; a run
of actions one request took reads as one group that opens to its parts. SQLite and PostgreSQL.
"""

import re

import pytest
from flask import Blueprint
from flask_login import current_user
from flask_login import login_required

from core import hookimpl
from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.db import database
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.testing import ROW_ID
from core.testing import sign_in
from plugins.activity.groups import counted
from plugins.activity.groups import joined
from plugins.settings.models import TabGrant

GROUP = re.compile(r'<li class="row-group" data-request="([^"]+)">(.*?)</ol>', re.S)
SESSION_LINK = re.compile(r'href="(/stream/activity\?session=(\d+))"[^>]*class="session-actions"')


class Notes:
    """A host page completing ``n`` notes in one request, each recorded as its own action;
    ``for`` names a person the notes relate to (else the actor alone)."""

    blueprint = Blueprint("notes", __name__)

    @staticmethod
    @blueprint.get("/notes/complete/<int:first>/<int:n>")
    @login_required
    def complete(first, n):
        with database.atomic():
            for number in range(first, first + n):
                record_activity(
                    current_user,
                    "note.completed",
                    Ref("note", number, f"Note {number}"),
                    audience=Audience(users={current_user.id}),
                )
        return "done"

    @staticmethod
    @blueprint.get("/notes/share/<int:number>/<int:user_id>")
    @login_required
    def share(number, user_id):
        with database.atomic():
            record_activity(
                current_user,
                "note.shared",
                Ref("note", number, f"Note {number}"),
                audience=Audience(users={current_user.id, user_id}),
            )
        return "done"

    @hookimpl
    def register_blueprints(self, app):
        return [self.blueprint]


@pytest.fixture
def world(make_app, people):
    """The app with the notes page, and a client signed in per email on demand."""
    app = make_app(plugins=[Notes()])

    def client(email):
        signed_in = app.test_client()
        assert sign_in(signed_in, email).status_code == 302
        return signed_in

    return app, client


def newest_session(app, email, people):
    with app.app_context():
        user = people[email]
        return (
            UserSession.select().where(UserSession.user_id == user.id).order_by(-UserSession.id)[0]
        )


def stored(app, **where):
    with app.app_context():
        query = ActivityEvent.select().order_by(ActivityEvent.id)
        for name, value in where.items():
            query = query.where(getattr(ActivityEvent, name) == value)
        return list(query)


def test_an_action_names_its_session_and_request(world, people):
    app, client = world
    owner = client("owner@example.com")
    assert (
        owner.get("/notes/complete/1/2", headers={"X-Request-ID": "req-first-0001"}).text == "done"
    )
    session = newest_session(app, "owner@example.com", people)
    events = stored(app, verb="note.completed")
    assert [(e.recorded_via, e.request_id) for e in events] == [
        (f"session:{session.id}", "req-first-0001")
    ] * 2


def test_session_lists_exactly_that_sessions_actions(world, people):
    app, client = world
    first = client("owner@example.com")
    first.get("/notes/complete/1/2")
    one = newest_session(app, "owner@example.com", people)
    second = client("owner@example.com")  # the same person in another browser
    second.get("/notes/complete/10/1")
    other = newest_session(app, "owner@example.com", people)
    assert one.id != other.id
    mine = {e.id for e in stored(app, recorded_via=f"session:{one.id}")}
    theirs = {e.id for e in stored(app, recorded_via=f"session:{other.id}")}
    assert len(mine) == 2 and len(theirs) == 1

    def listed(url):
        page = first.get(url)
        assert page.status_code == 200, page.text
        return set(map(int, ROW_ID.findall(page.text)))

    assert listed(f"/stream/activity?session={one.id}") == mine
    assert listed(f"/stream/activity?q=session:{other.id}") == theirs
    excluded = listed(f"/stream/activity?q=-session:{one.id}")
    assert theirs <= excluded and not (mine & excluded)
    page = first.get(f"/stream/activity?session={one.id}").text
    assert f"in session {one.id}" in page  # the caption says what the list is


@pytest.mark.parametrize(
    "query, field",
    [("session=abc", "session"), ("q=session:-3", "session"), ("q=request:a%20b", "request")],
)
def test_a_malformed_session_or_request_is_refused_naming_it(world, query, field):
    app, client = world
    page = client("owner@example.com").get(f"/stream/activity?{query}")
    assert page.status_code == 400
    assert field in page.text and "expected" in page.text


def test_request_lists_exactly_one_requests_actions_ungrouped(world):
    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/4", headers={"X-Request-ID": "req-bulk-0001"})
    owner.get("/notes/complete/20/1", headers={"X-Request-ID": "req-lone-0001"})
    bulk = {e.id for e in stored(app, request_id="req-bulk-0001")}
    page = owner.get("/stream/activity?request=req-bulk-0001").text
    assert set(map(int, ROW_ID.findall(page))) == bulk and len(bulk) == 4
    assert "row-group" not in page  # the request's parts, as they are
    assert "in one request" in page


def test_a_session_never_widens_what_a_viewer_sees(world, people):
    """A Teammate asking for the owner's session sees only what relates to them in it."""
    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/3")
    session = newest_session(app, "owner@example.com", people)
    dana = people["teammate@example.com"]
    owner.get(f"/notes/share/99/{dana.id}")
    (shared,) = stored(app, verb="note.shared")
    assert shared.recorded_via == f"session:{session.id}"
    with app.app_context():
        TabGrant.create(tab="activity", role=Role.get(Role.name == "Teammate"))
    teammate = client("teammate@example.com")
    page = teammate.get(f"/stream/activity?session={session.id}")
    assert page.status_code == 200
    assert set(map(int, ROW_ID.findall(page.text))) == {shared.id}


def test_a_run_of_one_requests_actions_reads_as_one_group(world):
    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/4", headers={"X-Request-ID": "req-four-0001"})
    owner.get("/notes/complete/30/2", headers={"X-Request-ID": "req-two-00001"})
    page = owner.get("/stream/activity").text
    groups = GROUP.findall(page)
    assert [request_id for request_id, _ in groups] == ["req-four-0001"]
    _, body = groups[0]
    assert "completed 4 notes" in body and "Show the 4 actions" in body
    four = {e.id for e in stored(app, request_id="req-four-0001")}
    assert set(map(int, ROW_ID.findall(body))) == four  # it opens to exactly its parts
    two = {e.id for e in stored(app, request_id="req-two-00001")}
    assert two <= set(map(int, ROW_ID.findall(page)))  # two rows stay rows
    assert 'href="/stream/activity?request=req-four-0001"' in page  # the group's own link


def test_group_sentences_count_each_action_and_type():
    assert counted(1, "company") == "1 company"
    assert counted(3, "company") == "3 companies"
    assert counted(2, "day") == "2 days"
    assert counted(2, "box") == "2 boxes"
    assert counted(4, "api_token") == "4 api tokens"
    assert joined(["a"]) == "a"
    assert joined(["a", "b", "c"]) == "a, b and c"


def test_the_details_link_to_the_session_and_the_request(world, people):
    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/1", headers={"X-Request-ID": "req-detail-01"})
    session = newest_session(app, "owner@example.com", people)
    (event,) = stored(app, verb="note.completed")
    detail = owner.get(f"/stream/activity/{event.id}").text
    assert f'href="/stream/activity?session={session.id}"' in detail
    assert 'href="/stream/activity?request=req-detail-01"' in detail
    assert "Everything this session did" in detail


def test_a_sign_in_links_to_its_sessions_actions_for_who_reads_activity(world, people):
    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/2")
    session = newest_session(app, "owner@example.com", people)
    logins = owner.get("/stream/logins").text
    links = SESSION_LINK.findall(logins)
    assert (f"/stream/activity?session={session.id}", str(session.id)) in links
    with app.app_context():
        attempts = SignInAttempt.select().where(SignInAttempt.session_id.is_null(False))
        assert {int(number) for _, number in links} <= {a.session_id for a in attempts}
    # An Office Manager given the Logins tab but not the Activity tab gets no such link.
    with app.app_context():
        role = Role.get(Role.name == "Office Manager")
        TabGrant.delete().where((TabGrant.role == role) & (TabGrant.tab == "activity")).execute()
        TabGrant.get_or_create(tab="logins", role=role)
    office = client("office@example.com")
    page = office.get("/stream/logins")
    assert page.status_code == 200
    assert "session-actions" not in page.text


def test_the_api_reads_a_session_and_a_request_as_the_tab_does(world, people):
    from plugins.api.tokens import create_token

    app, client = world
    owner = client("owner@example.com")
    owner.get("/notes/complete/1/3", headers={"X-Request-ID": "req-api-00001"})
    owner.get("/notes/complete/9/1", headers={"X-Request-ID": "req-api-00002"})
    session = newest_session(app, "owner@example.com", people)
    with app.app_context(), database.atomic():
        token = create_token(people["admin@example.com"], "reader", "read", by=None)[1]
    reader = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def ids(query):
        answer = reader.get(f"/api/v1/activity?{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        return {item["id"] for item in answer.json["data"]}

    assert ids("request=req-api-00001") == {e.id for e in stored(app, request_id="req-api-00001")}
    everything = {e.id for e in stored(app, recorded_via=f"session:{session.id}")}
    assert ids(f"q=session:{session.id}") == everything and len(everything) == 4
    refused = reader.get("/api/v1/activity?session=x", headers=headers)
    assert refused.status_code == 422 and "session" in refused.text  # as every refused filter
