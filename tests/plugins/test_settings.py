"""The Settings tab: inline grants, scope, Select All, Preview as…, all recorded and enforced."""

import re

import pytest

from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(client, people):
    """Sign the test client in as the demo Admin; return a function posting settings changes."""
    sign_in(client, "admin@example.com")

    def post(path, htmx=True, **form):
        headers = {"X-CSRF-Token": csrf_token_of(client), **(HTMX if htmx else {})}
        return client.post(f"/stream/settings/{path}", data=form, headers=headers)

    return post


def ids_of(app, model, **where):
    """Return the id of the one ``model`` row matching ``where``."""
    with app.app_context():
        return model.get(**where).id


def other_client(app, email):
    """Return a second, separately signed-in client."""
    second = app.test_client()
    assert sign_in(second, email).status_code == 302
    return second


def flyout_has_stream_link(client):
    """Tell whether the viewer's Flyout Menu offers the Activity Stream."""
    return ">Activity Stream</a>" in client.get("/profile").text


def test_a_role_checkbox_saves_inline_and_swaps_only_itself(app, admin):
    teammate = ids_of(app, Role, name="Teammate")
    response = admin("grant", tab="activity", kind="role", id=teammate, granted=["0", "1"])
    assert response.status_code == 200
    # Only the control, not the panel; the roles' scope controls of the tab come out of band.
    forms = re.findall(r"<form[^>]*>", response.text)
    assert len([form for form in forms if "hx-swap-oob" not in form]) == 1
    assert all('class="scope"' in form for form in forms if "hx-swap-oob" in form)
    assert f'data-grant="role:{teammate}:activity"' in response.text
    assert " checked" in response.text
    assert (
        'id="settings-status"' in response.text and "Teammate now sees Activity." in response.text
    )
    with app.app_context():
        assert (
            TabGrant.select().where(TabGrant.role == teammate, TabGrant.tab == "activity").exists()
        )


def test_without_javascript_the_form_posts_and_comes_back(app, admin, client):
    teammate = ids_of(app, Role, name="Teammate")
    response = admin("grant", htmx=False, tab="activity", kind="role", id=teammate, granted="1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/stream/settings")
    assert "Teammate now sees Activity." in client.get("/stream/settings").text


def test_every_change_is_recorded_with_old_and_new(app, admin, client):
    teammate = ids_of(app, Role, name="Teammate")
    sales = ids_of(app, Team, name="Sales")
    admin("grant", tab="activity", kind="role", id=teammate, granted="1")
    admin("grant", tab="activity", kind="team", id=sales, granted="1")
    admin("scope", tab="activity", id=teammate, scope="all")
    admin("grant", tab="activity", kind="role", id=teammate, granted="0")
    with app.app_context():
        summaries = [e.summary for e in ActivityEvent.select().order_by(ActivityEvent.id)]
        assert all(e.verb == "settings.updated" for e in ActivityEvent.select())
    assert summaries == [
        "role Teammate: hidden → visible",
        "team Sales: hidden → visible",
        "rows seen by role Teammate: related → all",
        "role Teammate: visible → hidden",
    ]
    assert "role Teammate: visible → hidden" in client.get("/stream/activity").text


def test_an_unchanged_setting_records_nothing(app, admin):
    admin_role = ids_of(app, Role, name="Admin")
    response = admin("grant", tab="activity", kind="role", id=admin_role, granted="1")
    assert "already sees" in response.text
    with app.app_context():
        assert ActivityEvent.select().count() == 0


@pytest.mark.parametrize(
    ("kind", "lookup", "message"),
    [
        ("role", {"name": "Super Admin"}, "always sees every tab"),
        ("role", {"name": "Client"}, "never reach the Activity Stream"),
        ("role", {"name": "Freelancer"}, "never reach the Activity Stream"),
    ],
)
def test_owner_contacts_and_freelancers_cannot_be_granted(app, admin, kind, lookup, message):
    response = admin(
        "grant", tab="activity", kind=kind, id=ids_of(app, Role, **lookup), granted="1"
    )
    assert response.status_code == 400 and message in response.text


def test_a_freelancer_cannot_be_granted_individually(app, admin, people):
    freelancer = people["freelancer@example.com"].id
    response = admin("grant", tab="activity", kind="user", id=freelancer, granted="1")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "form",
    [
        {"tab": "settings", "kind": "role", "id": "3"},
        {"tab": "activity", "kind": "boss", "id": "3"},
        {"tab": "activity", "kind": "role", "id": "x"},
        {"tab": "activity", "kind": "team", "id": "999"},
    ],
)
def test_malformed_grants_are_400_naming_the_field(admin, form):
    response = admin("grant", granted="1", **form)
    assert response.status_code == 400
    assert re.search(r"(tab|kind|id): ", response.text)


def test_select_all_grants_every_staff_member_but_freelancers_and_clear_revokes(app, admin, people):
    response = admin("people", tab="activity", action="select-all")
    assert response.status_code == 200
    with app.app_context():
        holders = {g.user.email for g in TabGrant.select().where(TabGrant.user.is_null(False))}
    staff = {email for email, user in people.items() if user.role.kind in ("admin", "staff")}
    assert holders == staff
    assert "freelancer@example.com" not in response.text and "Frankie Moreau" not in response.text
    assert "Claire Dubois" not in response.text
    admin("people", tab="activity", action="clear")
    with app.app_context():
        assert not TabGrant.select().where(TabGrant.user.is_null(False)).exists()
        batch = ActivityEvent.select().order_by(ActivityEvent.id).first()
        assert "Dana Scully" in batch.summary and "Frankie" not in batch.summary


def test_people_search_filters_the_list(admin, client):
    response = client.get("/stream/settings/people?q=scully", headers=HTMX)
    assert "Dana Scully" in response.text and "Sam Okafor" not in response.text


def test_removing_a_role_hides_the_link_and_a_team_grant_brings_back_only_that_tab(
    app, admin, people
):
    teammate = ids_of(app, Role, name="Teammate")
    for tab in ("activity",):
        admin("grant", tab=tab, kind="role", id=teammate, granted="1")
    dana = other_client(app, "teammate@example.com")
    assert flyout_has_stream_link(dana)
    assert dana.get("/stream/activity").status_code == 200
    admin("grant", tab="activity", kind="role", id=teammate, granted="0")
    assert not flyout_has_stream_link(dana)  # on the very next request
    for url in (
        "/stream",
        "/stream/activity",
        "/stream/activity/rows?after=5",
        "/stream/activity/new?since=0",
        "/stream/settings",
    ):
        assert dana.get(url, headers=HTMX).status_code == 403, url
    admin("grant", tab="activity", kind="team", id=ids_of(app, Team, name="Delivery"), granted="1")
    assert flyout_has_stream_link(dana)
    tabs = re.findall(r'role="tab" id="tab-(\w+)"', dana.get("/stream/activity").text)
    assert tabs == ["activity"]


def test_a_scope_change_takes_effect_on_the_next_request(app, admin, people):
    teammate = ids_of(app, Role, name="Teammate")
    admin("grant", tab="activity", kind="role", id=teammate, granted="1")
    with app.app_context():
        unrelated = record_activity(
            people["sales@example.com"], "company.updated", Ref("company", 4, "Initech")
        ).id
    dana = other_client(app, "teammate@example.com")
    assert f'data-row-id="{unrelated}"' not in dana.get("/stream/activity").text
    admin("scope", tab="activity", id=teammate, scope="all")
    assert f'data-row-id="{unrelated}"' in dana.get("/stream/activity").text


def test_preview_as_a_person_shows_their_tabs_and_rows_and_is_recorded(app, admin, client, people):
    teammate = ids_of(app, Role, name="Teammate")
    admin("grant", tab="activity", kind="role", id=teammate, granted="1")
    dana, sam = people["teammate@example.com"], people["sales@example.com"]
    with app.app_context():
        mine = record_activity(
            sam, "task.created", Ref("task", 1, "For Dana"), audience=Audience(users={dana.id})
        ).id
        other = record_activity(sam, "task.created", Ref("task", 2, "Not Dana's")).id
    response = admin("preview", htmx=False, user=dana.id)
    assert response.status_code == 200
    assert "Preview" in response.text and " inert hx-disable" in response.text
    assert re.findall(r'data-preview-tab="(\w+)"', response.text) == ["activity"]
    assert f'data-row-id="{mine}"' in response.text
    assert f'data-row-id="{other}"' not in response.text
    # the admin's own page still renders as the admin afterwards
    assert "Avery Chen" in response.text.split("<main")[0]
    with app.app_context():
        assert ActivityEvent.select().where(ActivityEvent.verb == "settings.previewed").count() == 1


def test_preview_as_a_role_without_access_says_so(app, admin, client):
    salesperson = ids_of(app, Role, name="Salesperson")
    response = admin("preview", role=salesperson)
    assert response.status_code == 200
    assert "sees no Activity Stream tab" in response.text


def test_a_scope_control_is_disabled_while_nobody_in_the_role_sees_the_tab(app, admin, client):
    teammate = ids_of(app, Role, name="Teammate")
    select = rf'<select id="scope-{teammate}-activity"[^>]*>'
    panel = client.get("/stream/settings").text
    assert "disabled" in re.search(select, panel).group(0)
    granted = admin("grant", tab="activity", kind="role", id=teammate, granted="1").text
    assert "disabled" not in re.search(select, granted).group(0)  # out of band, up to date


def test_clear_asks_first_and_offers_undo(app, admin, client, people):
    dana, sam = people["teammate@example.com"], people["sales@example.com"]
    for person in (dana, sam):
        admin("grant", tab="activity", kind="user", id=person.id, granted="1")
    assert "hx-confirm=" in client.get("/stream/settings").text
    cleared = admin("people", tab="activity", action="clear").text
    assert 'id="undo-clear"' in cleared
    assert sorted(re.findall(r'name="user" value="(\d+)"', cleared)) == sorted(
        [str(dana.id), str(sam.id)]
    )
    admin("people", tab="activity", action="restore", user=[dana.id, sam.id])
    assert ids_of(app, TabGrant, tab="activity", user=dana.id)
    assert ids_of(app, TabGrant, tab="activity", user=sam.id)


def test_preview_with_nothing_chosen_is_an_inline_message(admin):
    response = admin("preview")
    assert response.status_code == 400
    assert "Choose a role or a Staff Member" in response.text
    assert "error-page" not in response.text
    page = admin("preview", htmx=False)
    assert "Choose a role or a Staff Member" in page.text and 'id="panel"' in page.text


def test_preview_is_a_post_because_it_is_recorded(app, admin, client, people):
    response = client.get(f"/stream/settings/preview?user={people['pm@example.com'].id}")
    assert response.status_code in (404, 405)
    with app.app_context():
        previews = ActivityEvent.select().where(ActivityEvent.verb == "settings.previewed")
        assert not previews.exists()


def test_preview_as_a_contact_is_refused(app, admin, client, people):
    response = admin("preview", user=people["client@example.com"].id)
    assert response.status_code == 400


def test_the_panel_costs_the_same_queries_however_many_roles(app, admin, client):
    from playhouse.test_utils import count_queries

    def queries_for_panel():
        with app.app_context(), count_queries() as counter:
            assert client.get("/stream/settings").status_code == 200
        return counter.count

    before = queries_for_panel()
    with app.app_context():
        for number in range(5):
            Role.create(name=f"Extra role {number}", kind="staff", position=50 + number)
    assert before > 3  # the count is real: user, grants, roles, people, teams…
    assert queries_for_panel() == before


def test_a_refused_load_more_answers_with_a_list_item(app, admin, people):
    dana = other_client(app, "teammate@example.com")
    sentinel = {**HTMX, "HX-Trigger": "load-more"}
    response = dana.get("/stream/activity/rows?after=5", headers=sentinel)
    assert response.status_code == 403
    assert response.text.strip().startswith('<li class="alert" role="alert">')


def test_the_panel_reads_who_sees_a_tab_in_a_few_queries_however_many_grants(app, admin, client):
    from playhouse.test_utils import count_queries

    admin("people", tab="activity", action="select-all")
    with app.app_context(), count_queries() as few:
        from plugins.settings.grants import roles_seeing
        from plugins.settings.views import configurable_tabs

        with app.test_request_context():
            seeing = roles_seeing(configurable_tabs())
    assert few.count <= 3
    teammate = ids_of(app, Role, name="Teammate")
    assert (teammate, "activity") in seeing  # Dana and Fox hold it in person
