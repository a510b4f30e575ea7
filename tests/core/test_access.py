"""Who reaches the stream: staff by grant; never Contacts or Freelancers; others sign in first."""

import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from core import hookimpl
from core.people import Role
from core.people import Team
from core.tabs import Tab
from plugins.settings.models import TabGrant

STREAM_URLS = ("/stream", "/stream/settings", "/stream/settings/anything", "/stream/nope")
OUTSIDERS = ("client@example.com", "prospect@example.com", "freelancer@example.com")


class ReportsPlugin:
    """A configurable tab with no opinion of its own: only Settings grants make it visible."""

    @hookimpl
    def register_tabs(self):
        panel = lambda viewer: "<p>reports</p>"  # noqa: E731
        return [Tab(name="reports", label="Reports", order=10, panel=panel)]


@pytest.fixture
def app(make_app):
    """Return the app with the built-in plugins and a grantable Reports tab."""
    return make_app(plugins=[ReportsPlugin()])


def grant(app, **to):
    """Grant the Reports tab to one role, user or team."""
    with app.app_context():
        TabGrant.create(tab=to.pop("tab", "reports"), **to)


def flyout_of(client):
    """Return the Flyout Menu of the profile page."""
    response = client.get("/profile")
    assert response.status_code == 200
    return re.search(r'<nav id="flyout".*?</nav>', response.text, re.S).group(0)


@pytest.mark.parametrize("email", OUTSIDERS)
def test_contacts_and_freelancers_get_403_on_every_stream_url(app, client, login, email):
    user = login(email)
    grant(app, user=user)  # even a grant naming them directly changes nothing
    for url in (*STREAM_URLS, "/stream/reports"):
        assert client.get(url).status_code == 403, url
    assert "Activity Stream" not in flyout_of(client)


def test_signed_out_viewers_are_sent_to_sign_in(client, people):
    for url in (*STREAM_URLS, "/stream/settings?after=5"):
        response = client.get(url)
        assert response.status_code == 302, url
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"] == [url]


def test_signed_out_htmx_request_gets_401_and_a_whole_page_redirect(client, people):
    response = client.get(
        "/stream/settings",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/stream/settings"},
    )
    assert response.status_code == 401
    location = urlsplit(response.headers["HX-Redirect"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == ["/stream/settings"]
    assert "<form" not in response.text


@pytest.mark.parametrize("email", ["owner@example.com", "admin@example.com"])
def test_admins_have_the_flyout_link_and_land_on_their_first_tab(app, client, login, email):
    login(email)
    assert '<a href="/stream">Activity Stream</a>' in flyout_of(client)
    response = client.get("/stream")
    assert response.status_code == 302
    expected = "/stream/reports" if email == "owner@example.com" else "/stream/settings"
    assert response.headers["Location"] == expected


def test_a_teammate_without_grants_sees_no_stream(client, login):
    login("teammate@example.com")
    assert "Activity Stream" not in flyout_of(client)
    assert client.get("/stream").status_code == 403
    assert client.get("/stream/reports").status_code == 403
    assert client.get("/").headers["Location"] == "/profile"


@pytest.mark.parametrize("by", ["role", "user", "team"])
def test_a_teammate_sees_a_tab_granted_by_role_person_or_team(app, client, login, by):
    teammate = login("teammate@example.com")
    with app.app_context():
        holder = {
            "role": lambda: Role.get(Role.name == "Teammate"),
            "user": lambda: teammate,
            "team": lambda: Team.get(Team.name == "Delivery"),
        }[by]()
    grant(app, **{by: holder})
    assert '<a href="/stream">Activity Stream</a>' in flyout_of(client)
    assert client.get("/stream").headers["Location"] == "/stream/reports"
    assert client.get("/stream/reports").status_code == 200
    assert client.get("/stream/settings").status_code == 403


def test_a_grant_to_another_team_shows_nothing(app, client, login):
    login("teammate@example.com")
    with app.app_context():
        sales = Team.get(Team.name == "Sales")
    grant(app, team=sales)
    assert client.get("/stream/reports").status_code == 403


def test_settings_stays_403_for_a_teammate_granted_it(app, client, login):
    teammate = login("teammate@example.com")
    with app.app_context():
        role = Role.get(Role.name == "Teammate")
    grant(app, tab="settings", user=teammate)
    grant(app, tab="settings", role=role)
    assert client.get("/stream/settings").status_code == 403
    assert client.get("/stream").status_code == 403
