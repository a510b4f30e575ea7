"""Manage Teams and Manage People: every action, every refusal, each change recorded, and
grants following their target (on SQLite and PostgreSQL)."""

import json
import re

import pytest
from flask_login import current_user
from flask_login import login_user

from core.auth.clients import Client
from core.auth.sessions import UserSession
from core.auth.sessions import start_session
from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.people import sees_team_names
from core.people import team_label
from plugins.activity.describe import describe
from plugins.activity.describe import describe_all
from plugins.activity.secrecy import team_free
from plugins.people.models import RetiredTeam
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}
LINK = re.compile(r'value="https?://[^/"]+(/password/[A-Za-z0-9_-]+)"')


@pytest.fixture
def admin(client, people):
    """Sign the test client in as the demo Admin; return a function posting a form to a path."""
    assert sign_in(client, "admin@example.com").status_code == 302

    def post(path, htmx=False, **form):
        headers = {"X-CSRF-Token": csrf_token_of(client), **(HTMX if htmx else {})}
        return client.post(path, data=form, headers=headers)

    post.client = client
    return post


def signed_in(app, email, password="demo-password"):
    """Return a second client signed in as ``email``."""
    other = app.test_client()
    assert sign_in(other, email, password).status_code == 302
    return other


def events(app, *verbs):
    """Return ``[(verb, label, changes)]`` of the events with ``verbs``, oldest first."""
    with app.app_context():
        query = ActivityEvent.select().where(ActivityEvent.verb.in_(verbs))
        return [
            (e.verb, e.object_label, json.loads(e.changes) if e.changes else None)
            for e in query.order_by(ActivityEvent.id)
        ]


def get(app, model, **where):
    """Return the one ``model`` row matching ``where`` (or None)."""
    with app.app_context():
        return model.get_or_none(**where)


def grant_team(app, team_name, tab="activity"):
    with app.app_context():
        TabGrant.create(tab=tab, team=Team.get(Team.name == team_name))


def test_an_admin_creates_edits_fills_and_deletes_a_team_each_change_recorded(app, admin):
    created = admin("/teams", name="Support", description="Answers clients", color="#0F766E")
    assert created.status_code == 302
    team = get(app, Team, name="Support")
    assert (team.description, team.color) == ("Answers clients", "#0f766e")
    assert admin.client.get("/teams").text.count('data-team="Support"') == 1

    dana = get(app, User, email="teammate@example.com")
    added = admin(f"/teams/{team.id}/members", htmx=True, user=dana.id, member=["0", "1"])
    assert added.status_code == 200
    assert f'data-grant="member:{team.id}:{dana.id}"' in added.text
    assert " checked" in added.text.split("data-grant")[0]
    assert "Dana Scully joined Support." in added.text
    again = admin(f"/teams/{team.id}/members", htmx=True, user=dana.id, member=["0", "1"])
    assert "No change" in again.text

    renamed = admin(f"/teams/{team.id}", name="Client Care", description="", color="#0f766e")
    assert renamed.status_code == 302
    removed = admin(f"/teams/{team.id}/members", user=dana.id, member="0")
    assert removed.status_code == 302  # without htmx: back to the team's page

    deleted = admin(f"/teams/{team.id}/delete")
    assert deleted.status_code == 302
    assert get(app, Team, id=team.id) is None
    assert get(app, User, id=dana.id) is not None  # deleting a team deletes no user
    assert get(app, RetiredTeam, id=team.id) is not None

    assert events(app, "team.created", "team.updated", "team.deleted") == [
        (
            "team.created",
            "Support",
            {
                "color": [None, "#0f766e"],
                "description": [None, "Answers clients"],
                "name": [None, "Support"],
            },
        ),
        ("team.updated", "Support", {"members": [[], ["Dana Scully"]]}),
        (
            "team.updated",
            "Client Care",
            {"description": ["Answers clients", ""], "name": ["Support", "Client Care"]},
        ),
        ("team.updated", "Client Care", {"members": [["Dana Scully"], []]}),
        (
            "team.deleted",
            "Client Care",
            {"color": ["#0f766e", None], "description": ["", None], "name": ["Client Care", None]},
        ),
    ]
    with app.app_context():
        summaries = [
            e.summary
            for e in ActivityEvent.select()
            .where(ActivityEvent.verb == "team.updated")
            .order_by(ActivityEvent.id)
        ]
    assert summaries[0] == "Members: +Dana Scully"
    assert summaries[2] == "Members: −Dana Scully"


def test_bad_team_input_is_a_400_naming_the_field_and_changes_nothing(app, admin):
    for form, field in (
        ({"name": "", "color": "#112233"}, "name:"),
        ({"name": "sales", "color": "#112233"}, "name:"),  # taken, whatever the case
        ({"name": "Ops", "color": "red"}, "color:"),
        ({"name": "x" * 81, "color": "#112233"}, "name:"),
    ):
        answer = admin("/teams", **form)
        assert answer.status_code == 400, form
        assert field in answer.text
    assert admin("/teams/999999", name="A", color="#112233").status_code == 404
    client_user = get(app, User, email="client@example.com")
    sales = get(app, Team, name="Sales")
    refused = admin(f"/teams/{sales.id}/members", htmx=True, user=client_user.id, member="1")
    assert refused.status_code == 400
    assert '<p class="alert" role="alert">' in refused.text  # the checkbox puts itself back
    assert "not an active Staff Member" in refused.text
    assert events(app, "team.created", "team.updated") == []


@pytest.mark.parametrize(
    "email",
    ["teammate@example.com", "client@example.com", "freelancer@example.com", "pm@example.com"],
)
def test_everyone_but_the_owner_and_admins_is_refused_every_page(app, people, email):
    other = signed_in(app, email)
    token = csrf_token_of(other)
    sales = get(app, Team, name="Sales")
    dana = get(app, User, email="teammate@example.com")
    for url in ("/teams", f"/teams/{sales.id}", "/people", f"/people/{dana.id}"):
        assert other.get(url).status_code == 403, url
        assert other.get(url, headers=HTMX).status_code == 403, url
    for url, form in (
        ("/teams", {"name": "Mine", "color": "#112233"}),
        (f"/teams/{sales.id}/members", {"user": dana.id, "member": "0"}),
        (f"/teams/{sales.id}/delete", {}),
        (f"/people/{dana.id}/deactivate", {}),
        ("/people", {"name": "X", "email": "x@example.com", "role": "Admin", "time_zone": "UTC"}),
    ):
        assert other.post(url, data={**form, "csrf_token": token}).status_code == 403, url
    assert ">Manage Teams</a>" not in other.get("/profile").text
    assert get(app, Team, name="Sales") is not None
    assert get(app, User, email="x@example.com") is None
    assert events(app, "team.created", "team.updated", "team.deleted", "user.deactivated") == []


def test_signed_out_visitors_are_sent_to_sign_in_and_a_post_needs_its_csrf_token(app, admin):
    signed_out = app.test_client()
    assert "/login?next=" in signed_out.get("/teams").headers["Location"]
    assert signed_out.get("/people", headers=HTMX).status_code == 401
    forged = admin.client.post("/teams", data={"name": "Forged", "color": "#112233"})
    assert forged.status_code == 400
    assert get(app, Team, name="Forged") is None
    links = admin.client.get("/profile").text
    assert ">Manage Teams</a>" in links and ">Manage People</a>" in links


def test_a_member_taken_out_loses_the_team_s_tab_on_their_next_request(app, admin):
    grant_team(app, "Delivery")
    dana = signed_in(app, "teammate@example.com")
    assert dana.get("/stream/activity").status_code == 200
    delivery = get(app, Team, name="Delivery")
    dana_id = get(app, User, email="teammate@example.com").id
    admin(f"/teams/{delivery.id}/members", htmx=True, user=dana_id, member="0")
    assert dana.get("/stream/activity").status_code == 403
    assert ">Activity Stream</a>" not in dana.get("/profile").text
    admin(f"/teams/{delivery.id}/members", htmx=True, user=dana_id, member="1")
    assert dana.get("/stream/activity").status_code == 200


def test_deleting_a_team_says_who_loses_which_tabs_then_removes_its_grants(app, admin):
    grant_team(app, "Sales", "activity")
    grant_team(app, "Sales", "email")
    with app.app_context():  # Ines keeps Email in person: she loses Activity only
        TabGrant.create(tab="email", user=User.get(User.email == "ines@example.com"))
    sales = get(app, Team, name="Sales")
    page = admin.client.get(f"/teams/{sales.id}/delete").text
    assert "<strong>Sam Okafor</strong> loses Activity, Email" in page
    assert "<strong>Ines Garcia</strong> loses Activity</li>" in page
    sam = signed_in(app, "sales@example.com")
    assert sam.get("/stream/activity").status_code == 200

    assert admin(f"/teams/{sales.id}/delete").status_code == 302
    assert sam.get("/stream/activity").status_code == 403
    with app.app_context():
        assert not TabGrant.select().where(TabGrant.team == sales.id).exists()
        revoked = [
            e.changes
            for e in ActivityEvent.select()
            .where(ActivityEvent.verb == "settings.updated")
            .order_by(ActivityEvent.id)
        ]
        assert TeamMembership.select().where(TeamMembership.team == sales.id).count() == 0
    assert sorted(revoked) == ['{"team Sales": ["visible", "hidden"]}'] * 2


def test_manage_teams_works_without_the_settings_plugin(make_app, people):
    """People knows nothing of Settings' grants: without Settings no team holds a tab, and a
    team is deleted and recorded all the same."""
    app = make_app(PLUGINS_DISABLED="settings")
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 302
    delivery = get(app, Team, name="Delivery")
    page = client.get(f"/teams/{delivery.id}/delete").text
    assert "The team holds no tab grant." in page and "Nobody loses a tab" in page
    token = csrf_token_of(client)
    deleted = client.post(f"/teams/{delivery.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert get(app, Team, name="Delivery") is None
    assert [verb for verb, _, _ in events(app, "team.deleted")] == ["team.deleted"]


def test_a_new_team_never_takes_a_deleted_team_s_id(app, admin):
    """Past events keep the deleted team in their audience: its id must stay retired."""
    admin("/teams", name="Temporary", color="#112233")
    temporary = get(app, Team, name="Temporary")
    admin(f"/teams/{temporary.id}/delete")
    admin("/teams", name="Next", color="#112233")
    assert get(app, Team, name="Next").id > temporary.id


def test_an_admin_adds_a_person_who_chooses_a_password_once_from_the_link(app, admin):
    answer = admin(
        "/people",
        name="Walter Skinner",
        email=" Walter@Example.com ",
        role="Teammate",
        time_zone="America/New_York",
    )
    assert answer.status_code == 200
    assert "No mail server is configured" in answer.text
    link = LINK.search(answer.text).group(1)
    walter = get(app, User, email="walter@example.com")
    assert (walter.name, walter.time_zone, walter.password_hash) == (
        "Walter Skinner",
        "America/New_York",
        "",
    )

    newcomer = app.test_client()
    assert newcomer.get(link).status_code == 200
    token = csrf_token_of(newcomer)
    short = newcomer.post(
        link, data={"password": "short", "confirmation": "short", "csrf_token": token}
    )
    assert short.status_code == 400 and "password:" in short.text
    chosen = newcomer.post(
        link,
        data={
            "password": "truth-is-out-there",
            "confirmation": "truth-is-out-there",
            "csrf_token": token,
        },
    )
    assert chosen.status_code == 302
    assert newcomer.get(link).status_code == 404  # once only
    assert sign_in(app.test_client(), "walter@example.com", "truth-is-out-there").status_code == 302

    assert events(app, "user.created") == [
        (
            "user.created",
            "Walter Skinner",
            {
                "email": [None, "walter@example.com"],
                "name": [None, "Walter Skinner"],
                "role": [None, "Teammate"],
                "time_zone": [None, "America/New_York"],
            },
        )
    ]
    with app.app_context():
        assert (
            "invitation shown to the admin"
            in ActivityEvent.get(ActivityEvent.verb == "user.password_link").summary
        )


def test_bad_person_input_is_a_400_naming_the_field(app, admin):
    for form, field in (
        ({"name": "", "email": "a@example.com", "role": "Teammate"}, "name:"),
        ({"name": "A", "email": "not-an-email", "role": "Teammate"}, "email:"),
        ({"name": "A", "email": "admin@example.com", "role": "Teammate"}, "email:"),
        ({"name": "A", "email": "a@example.com", "role": "Wizard"}, "role:"),
        (
            {"name": "A", "email": "a@example.com", "role": "Teammate", "time_zone": "Mars/Base"},
            "time_zone:",
        ),
        ({"name": "A", "email": "a@example.com", "role": "Super Admin"}, "role:"),  # a second
    ):
        answer = admin("/people", **{"time_zone": "UTC", **form})
        assert answer.status_code == 400, form
        assert field in answer.text, form
    assert get(app, User, email="a@example.com") is None
    assert events(app, "user.created") == []


def test_a_role_change_is_recorded_and_a_contact_role_ends_stream_access_at_once(app, admin):
    dana = get(app, User, email="teammate@example.com")
    with app.app_context():
        TabGrant.create(tab="activity", user=dana.id)
    session = signed_in(app, "teammate@example.com")
    assert session.get("/stream/activity").status_code == 200
    fields = {"name": dana.name, "email": dana.email, "time_zone": dana.time_zone}
    assert admin(f"/people/{dana.id}", role="Admin", **fields).status_code == 302
    assert session.get("/stream/settings").status_code == 200
    assert admin(f"/people/{dana.id}", role="Client", **fields).status_code == 302
    assert session.get("/stream/activity").status_code == 403
    assert session.get("/stream").status_code == 403
    with app.app_context():
        assert not TabGrant.select().where(TabGrant.user == dana.id).exists()
        assert dana.team_ids() == []
    assert [changes for _, _, changes in events(app, "user.updated")] == [
        {"role": ["Teammate", "Admin"]},
        {
            "role": ["Admin", "Client"],
            "teams": [["Delivery"], []],
            "tabs granted in person": [["activity"], []],
        },
    ]
    unchanged = admin(f"/people/{dana.id}", role="Client", **fields)
    assert unchanged.status_code == 302  # nothing changed: nothing recorded
    assert len(events(app, "user.updated")) == 2


def test_there_is_always_exactly_one_super_admin_who_is_never_demoted_or_deactivated(app, admin):
    owner = get(app, User, email="owner@example.com")
    avery = get(app, User, email="admin@example.com")
    fields = {"name": owner.name, "email": owner.email, "time_zone": owner.time_zone}
    assert admin(f"/people/{owner.id}", role="Admin", **fields).status_code == 403  # admins may not
    assert admin(f"/people/{owner.id}/deactivate").status_code == 400
    assert admin(f"/people/{avery.id}/deactivate").status_code == 400  # not oneself either
    assert "cannot deactivate yourself" in admin(f"/people/{avery.id}/deactivate").text
    dana = get(app, User, email="teammate@example.com")
    made = admin(
        f"/people/{dana.id}", name=dana.name, email=dana.email, role="Super Admin", time_zone="UTC"
    )
    assert made.status_code == 400 and "only ever one" in made.text

    morgan = signed_in(app, "owner@example.com")
    token = csrf_token_of(morgan)
    demoted = morgan.post(
        f"/people/{owner.id}", data={**fields, "role": "Admin", "csrf_token": token}
    )
    assert demoted.status_code == 400 and "cannot be demoted" in demoted.text
    assert (
        morgan.post(f"/people/{owner.id}/deactivate", data={"csrf_token": token}).status_code == 400
    )
    with app.app_context():
        owners = User.select().join(Role).where(Role.kind == "owner")
        assert [user.email for user in owners] == ["owner@example.com"]
        assert User.get_by_id(owner.id).active and User.get_by_id(avery.id).active
    assert events(app, "user.updated", "user.deactivated") == []


def test_a_deactivated_person_is_signed_out_at_once_and_cannot_sign_in(app, admin):
    dana = get(app, User, email="teammate@example.com")
    with app.app_context():
        TabGrant.create(tab="activity", user=dana.id)
    session = signed_in(app, "teammate@example.com")
    assert session.get("/stream/activity").status_code == 200
    assert admin(f"/people/{dana.id}/deactivate").status_code == 302
    assert "/login" in session.get("/stream/activity").headers["Location"]
    assert session.get("/profile").status_code == 302
    with app.app_context():
        assert (
            not UserSession.select()
            .where((UserSession.user_id == dana.id) & UserSession.ended_at.is_null())
            .exists()
        )
    assert sign_in(app.test_client(), "teammate@example.com").status_code == 401
    refused = admin(f"/people/{dana.id}/password-link")
    assert refused.status_code == 400 and "reactivate them first" in refused.text

    assert admin(f"/people/{dana.id}/reactivate").status_code == 302
    assert sign_in(app.test_client(), "teammate@example.com").status_code == 302
    assert events(app, "user.deactivated", "user.reactivated") == [
        ("user.deactivated", "Dana Scully", {"active": [True, False]}),
        ("user.reactivated", "Dana Scully", {"active": [False, True]}),
    ]


def test_a_reset_link_is_shown_without_mail_and_spends_the_one_before(app, admin):
    dana = get(app, User, email="teammate@example.com")
    first = LINK.search(admin(f"/people/{dana.id}/password-link").text).group(1)
    second = LINK.search(admin(f"/people/{dana.id}/password-link").text).group(1)
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404
    assert visitor.get(second).status_code == 200
    session = signed_in(app, "teammate@example.com")  # still works until the link is used
    visitor.post(
        second,
        data={
            "password": "new-password-1",
            "confirmation": "new-password-1",
            "csrf_token": csrf_token_of(visitor),
        },
    )
    assert session.get("/profile").status_code == 302  # every older session ended
    assert sign_in(app.test_client(), "teammate@example.com").status_code == 401
    assert sign_in(app.test_client(), "teammate@example.com", "new-password-1").status_code == 302


def test_with_mail_configured_the_link_is_sent_privately_not_shown(make_app, people, smtp_server):
    from plugins.email.models import EmailMessage

    app = make_app(SMTP_URL=smtp_server.url)
    client = app.test_client()
    sign_in(client, "admin@example.com")
    dana = get(app, User, email="teammate@example.com")
    answer = client.post(
        f"/people/{dana.id}/password-link", data={"csrf_token": csrf_token_of(client)}
    )
    assert answer.status_code == 302
    assert "/password/" not in client.get(answer.headers["Location"]).text
    with app.app_context():
        message = EmailMessage.get(EmailMessage.recipient_id == dana.id)
        assert (message.kind, message.private, message.sender_id) == ("user.reset", True, None)
    link = re.search(r"https?://[^/\s]+(/password/\S+)", message.text_body).group(1)
    assert app.test_client().get(link).status_code == 200


def test_team_names_are_seen_by_four_roles_only_and_hidden_in_activity_rows(app, admin, people):
    expected = {
        "owner": True,
        "admin": True,
        "pm": True,
        "office": True,
        "teammate": False,
        "sales": False,
        "freelancer": False,
        "client": False,
    }
    with app.app_context():
        for name, sees in expected.items():
            user = User.get(User.email == f"{name}@example.com")
            assert sees_team_names(user) is sees, name
            assert team_label(user, "Delivery") == ("Delivery" if sees else "a team")
        assert sees_team_names(None) is False
    delivery = get(app, Team, name="Delivery")
    fox = get(app, User, email="fox@example.com")
    admin(f"/teams/{delivery.id}/members", htmx=True, user=fox.id, member="0")
    with app.app_context():
        for role in ("Teammate", "Project Manager"):
            TabGrant.create(tab="activity", role=Role.get(Role.name == role))
    dana_page = signed_in(app, "teammate@example.com").get("/stream/activity").text
    priya_page = signed_in(app, "pm@example.com").get("/stream/activity").text
    assert "edited team “a team”" in dana_page  # Dana is in Delivery: the row relates to her
    assert "edited team “Delivery”" in priya_page
    dana = get(app, User, email="teammate@example.com")
    preview = admin.client.post(
        "/stream/settings/preview",
        data={"user": dana.id},
        headers={"X-CSRF-Token": csrf_token_of(admin.client)},
    )
    assert preview.status_code == 200
    assert "edited team “a team”" in preview.text  # Preview as… reads as Dana would
    # A rename puts the old and the new name in the event's summary and change set: neither
    # reaches Dana's rows or the event's details.
    admin(f"/teams/{delivery.id}", name="Delivery Ops", description="", color="#0f766e")
    with app.app_context():
        renamed = (
            ActivityEvent.select()
            .where(ActivityEvent.verb == "team.updated")
            .order_by(ActivityEvent.id.desc())
            .first()
        )
    assert "Delivery Ops" in renamed.summary
    dana_client = signed_in(app, "teammate@example.com")
    dana_rows = dana_client.get("/stream/activity").text
    dana_detail = dana_client.get(f"/stream/activity/{renamed.id}").text
    for text in (dana_rows, dana_detail):
        assert "Delivery" not in text
    assert "a team" in dana_detail
    assert "Delivery Ops" in signed_in(app, "pm@example.com").get("/stream/activity").text


def test_a_team_event_is_phrased_for_the_rows_viewer_not_the_signed_in_person(app, people):
    """Preview as… a Teammate, signed in as an Admin: the sentence is phrased for the Teammate
    ("a team") though the Admin sees team names. Checked on the sentence alone, an event read
    before the Activity tab hides its labels: the phrasing must not lean on that."""
    with app.test_request_context():
        signed_in_admin = User.get(User.email == "admin@example.com")
        start_session(signed_in_admin, Client())  # signed in as a browser would be
        login_user(signed_in_admin)
        assert current_user.id == signed_in_admin.id
        delivery = Team.get(Team.name == "Delivery")
        with database.atomic():
            event = record_activity(
                signed_in_admin, "team.updated", Ref("team", delivery.id, "Delivery")
            )
        event = ActivityEvent.get_by_id(event.id)
        dana = User.get(User.email == "teammate@example.com")
        assert "edited team “a team”" in describe_all([event], {}, dana)[event.id]
        assert "Delivery" not in describe(event, {}, dana)
        assert "edited team “Delivery”" in describe_all([event], {}, signed_in_admin)[event.id]


def test_related_rows_follow_the_viewer_s_teams_of_today(app, admin, people):
    """An event keeps the actor's teams of its time; a viewer sees it while in one of them."""
    with app.app_context():
        TabGrant.create(tab="activity", role=Role.get(Role.name == "Teammate"))
        with database.atomic():
            sam_event = record_activity(
                people["sales@example.com"], "task.created", Ref("task", 1, "Sales pitch")
            ).id
    ines = get(app, User, email="ines@example.com")  # a Teammate in Sales
    sales = get(app, Team, name="Sales")
    assert sam_event in rows(app, "ines@example.com")
    admin(f"/teams/{sales.id}/members", htmx=True, user=ines.id, member="0")
    assert sam_event not in rows(app, "ines@example.com")
    delivery = get(app, Team, name="Delivery")
    dana = get(app, User, email="teammate@example.com")
    assert get(app, TeamMembership, user=dana.id, team=delivery.id)  # Dana is in Delivery
    assert sam_event not in rows(app, "teammate@example.com")
    admin(f"/teams/{sales.id}/members", htmx=True, user=dana.id, member="1")
    assert sam_event in rows(app, "teammate@example.com")  # joining shows the team's past
    # Joining a team adds one: Dana stays in Delivery too.
    assert get(app, TeamMembership, user=dana.id, team=delivery.id) is not None


def rows(app, email):
    from core.testing import rows_seen_by

    return rows_seen_by(app, email, "activity")


def test_a_change_whose_record_fails_is_not_made(app, admin):
    """The change and its event commit together: when the event cannot be written (its
    audience table is gone), the change rolls back and the page says so."""
    dana = get(app, User, email="teammate@example.com")
    session = signed_in(app, "teammate@example.com")
    with app.app_context():
        database.execute_sql("DROP TABLE activity_audience")
    deactivated = admin(f"/people/{dana.id}/deactivate")
    assert deactivated.status_code == 503 and "not saved" in deactivated.text
    created = admin("/teams", name="Never", color="#112233")
    assert created.status_code == 503
    assert get(app, User, id=dana.id).active
    assert get(app, Team, name="Never") is None
    assert session.get("/profile").status_code == 200  # her session did not end either


def test_a_recorded_event_reads_without_team_names_for_those_who_may_not_see_them(app, admin):
    sales = get(app, Team, name="Sales")
    admin(f"/teams/{sales.id}", name="Hunters", description="Finds clients", color="#ea580c")
    dana = get(app, User, email="teammate@example.com")
    admin(f"/teams/{sales.id}/members", htmx=True, user=dana.id, member="1")
    admin.client.post(
        "/stream/settings/grant",
        data={
            "tab": "activity",
            "kind": "team",
            "id": sales.id,
            "granted": "1",
            "csrf_token": csrf_token_of(admin.client),
        },
    )
    fields = {"name": dana.name, "email": dana.email, "time_zone": dana.time_zone}
    admin(f"/people/{dana.id}", role="Client", **fields)
    with app.app_context():
        recorded = list(
            ActivityEvent.select()
            .where(ActivityEvent.verb.in_(("team.updated", "settings.updated", "user.updated")))
            .order_by(ActivityEvent.id)
        )
        hidden = [team_free(event) for event in recorded]
        shown = [json.loads(event.changes) for event in recorded]
    rename, member, grant, demotion = hidden
    assert rename["object_label"] == "a team"
    assert rename["changes"]["name"] == ["a team", "a team"]
    assert "Hunters" not in rename["summary"] and "Sales" not in rename["summary"]
    assert member["summary"] == "Members: +Dana Scully"  # no name in it: kept as recorded
    assert grant["changes"] == {"team a team": ["hidden", "visible"]}
    assert grant["summary"] == "team a team: hidden → visible"
    assert demotion["changes"]["teams"] == [["a team", "a team"], []]
    assert not any(name in json.dumps(hidden) for name in ("Sales", "Hunters", "Delivery"))
    assert shown[0]["name"] == ["Sales", "Hunters"]  # recorded with the names
    assert shown[3]["teams"] == [["Delivery", "Hunters"], []]
