"""Settings shows each Staff Member's access in effect beside their personal grant, and why:
"via role Admin", "via team Delivery", "by another rule", "refused by another rule". Whether a
person sees a tab is ``core.tabs.visible_tabs``'s answer, never decided again here."""

import re

import pytest

from core import hookimpl
from core.db import database
from core.people import Role
from core.people import Team
from core.people import User
from plugins.settings.access import effective_access
from plugins.settings.grants import grants_by_kind
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def admin(client, people):
    """Sign the test client in as the demo Admin; return a function posting settings changes."""
    assert sign_in(client, "admin@example.com").status_code == 302

    def post(path, **form):
        headers = {"X-CSRF-Token": csrf_token_of(client), **HTMX}
        return client.post(f"/stream/settings/{path}", data=form, headers=headers)

    return post


def cell(html, email, tab):
    """Return the Staff Member list's cell of ``email`` and ``tab`` (its toggle form)."""
    start = html.index(f'data-person="{email}"')
    row = html[start : html.index("</tr>", start)]
    (form,) = [
        form
        for form in re.findall(r'<form class="toggle".*?</form>', row, flags=re.S)
        if re.search(rf'data-grant="user:\d+:{tab}"', form)
    ]
    return form


def _marker_html(html, email, tab):
    """Return the HTML inside a cell's access marker."""
    inner = re.search(r'<span class="access[^"]*"[^>]*>(.*)', cell(html, email, tab), re.S)[1]
    return inner[: inner.index("<noscript>")]


def marker(html, email, tab):
    """Return the visible words of a cell's access marker (without screen-reader text)."""
    visible = re.sub(r'<span class="sr-only">.*?</span>', "", _marker_html(html, email, tab))
    return " ".join(re.sub(r"<[^>]+>", " ", visible).split())


def spoken(html, email, tab):
    """Return what a screen reader hears of a cell's marker."""
    return " ".join(re.sub(r"<[^>]+>", " ", _marker_html(html, email, tab)).split())


def test_an_admin_shows_her_access_through_her_role(app, client, admin):
    page = client.get("/stream/settings").text
    for tab in ("activity", "email", "logins"):
        box = cell(page, "admin@example.com", tab)
        assert " checked" not in box  # no personal grant...
        assert marker(page, "admin@example.com", tab) == "via role Admin"  # ...yet she sees it
        assert (
            spoken(page, "admin@example.com", tab)
            == f"Avery Chen sees {tab.title()} via role Admin"
        )
    assert marker(page, "teammate@example.com", "email") == ""
    assert spoken(page, "teammate@example.com", "email") == "Dana Scully does not see Email"


def test_a_team_grant_shows_on_its_members_and_the_list_reloads_itself(app, client, admin):
    with app.app_context():
        delivery = Team.get(Team.name == "Delivery").id
        sales = Team.get(Team.name == "Sales").id
    answer = admin("grant", tab="email", kind="team", id=delivery, granted="1")
    assert answer.status_code == 200
    assert answer.headers["HX-Trigger"] == "settings-access-changed"
    admin("grant", tab="email", kind="team", id=sales, granted="1")
    page = client.get("/stream/settings/people", headers=HTMX).text
    assert 'hx-trigger="settings-access-changed from:body"' in page
    assert marker(page, "teammate@example.com", "email") == "via team Delivery"
    assert marker(page, "grace@example.com", "email") == "via teams Delivery, Sales"
    assert marker(page, "sales@example.com", "email") == "via team Sales"
    assert marker(page, "teammate@example.com", "activity") == ""
    searched = client.get("/stream/settings/people?q=dana", headers=HTMX).text
    assert 'data-person="fox@example.com"' not in searched
    assert marker(searched, "teammate@example.com", "email") == "via team Delivery"


def test_a_personal_grant_says_what_it_changes_in_effect(app, client, admin, people):
    avery, dana = people["admin@example.com"].id, people["teammate@example.com"].id
    held = admin("grant", tab="email", kind="user", id=avery, granted="1")
    assert "Avery Chen now holds Email in person (also seen via role Admin)." in held.text
    assert 'class="access access-via"' in held.text and "via role Admin" in held.text
    dropped = admin("grant", tab="email", kind="user", id=avery, granted="0")
    assert (
        "Avery Chen no longer holds Email in person; still sees it via role Admin." in dropped.text
    )
    given = admin("grant", tab="email", kind="user", id=dana, granted="1")
    assert "Dana Scully now sees Email." in given.text
    assert "Dana Scully sees Email in person" in given.text  # for screen readers
    taken = admin("grant", tab="email", kind="user", id=dana, granted="0")
    assert "Dana Scully no longer sees Email." in taken.text
    assert "Dana Scully does not see Email" in taken.text


class OtherRule:
    """A plugin with a visibility rule of its own: Dana always sees Email, Avery never Logins."""

    @hookimpl
    def tab_visible(self, viewer, tab):
        if viewer.email == "teammate@example.com" and tab.name == "email":
            return True
        if viewer.email == "admin@example.com" and tab.name == "logins":
            return False
        return None


def test_the_decision_is_the_one_every_page_asks(make_app):
    app = make_app(plugins=[OtherRule()])
    from core.db import database
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 302
    page = client.get("/stream/settings").text
    assert marker(page, "teammate@example.com", "email") == "by another rule"
    assert marker(page, "admin@example.com", "logins") == "refused by another rule"
    assert "Avery Chen does not see Logins" in spoken(page, "admin@example.com", "logins")
    assert marker(page, "admin@example.com", "email") == "via role Admin"
    # What Settings says is what the gate does.
    dana, avery = app.test_client(), app.test_client()
    assert sign_in(dana, "teammate@example.com").status_code == 302
    assert sign_in(avery, "admin@example.com").status_code == 302
    assert dana.get("/stream/email").status_code == 200
    assert avery.get("/stream/logins").status_code == 403


def test_team_names_are_read_as_the_viewer_may(app, people):
    with app.app_context():
        delivery = Team.get(Team.name == "Delivery")
        TabGrant.create(tab="email", team=delivery)
        teammate_role = Role.get(Role.name == "Teammate")
        TabGrant.create(tab="activity", role=teammate_role)
        tabs = [type("T", (), {"name": "email"})(), type("T", (), {"name": "activity"})()]
        dana = User.get(User.email == "teammate@example.com")
        admin = User.get(User.email == "admin@example.com")
        sales = User.get(User.email == "sales@example.com")  # sees no team names
        with app.test_request_context():
            grants = grants_by_kind()
            seen_by_admin = effective_access(admin, [dana], tabs, grants)
            seen_by_sales = effective_access(sales, [dana], tabs, grants)
    assert seen_by_admin[(dana.id, "email")].via == "via team Delivery"
    assert seen_by_sales[(dana.id, "email")].via == "via a team"
    assert seen_by_admin[(dana.id, "activity")].via == "via role Teammate"


@pytest.mark.parametrize("email", ["teammate@example.com", "pm@example.com", "sales@example.com"])
def test_only_the_owner_and_admins_read_anyones_access(app, people, email):
    with app.app_context(), database.atomic():  # the loop's reads and writes in one
        for role in Role.select().where(Role.kind == "staff"):
            TabGrant.create(tab="activity", role=role)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert client.get("/stream/settings").status_code == 403
    assert client.get("/stream/settings/people", headers=HTMX).status_code == 403
    refused = client.post(
        "/stream/settings/grant",
        data={"tab": "email", "kind": "user", "id": people[email].id, "granted": "1"},
        headers={"X-CSRF-Token": csrf_token_of(client), **HTMX},
    )
    assert refused.status_code == 403 and "via " not in refused.text


def test_an_admin_granting_herself_a_tab_reads_it_after_the_change(app, client, admin, people):
    with app.app_context():
        admin_role = Role.get(Role.name == "Admin").id
    admin("grant", tab="email", kind="role", id=admin_role, granted="0")
    assert client.get("/stream/email").status_code == 403
    # The gate read her tabs before the change; what the answer says is read after it.
    given = admin("grant", tab="email", kind="user", id=people["admin@example.com"].id, granted="1")
    assert "Avery Chen now sees Email." in given.text
    assert "Avery Chen sees Email in person" in given.text
    assert client.get("/stream/email").status_code == 200
