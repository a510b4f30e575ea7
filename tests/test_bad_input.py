"""Bad input answers a 4xx naming the field, never a 500: time zones that are not one of the
zones offered, and searches too long or with too many terms (on SQLite and PostgreSQL)."""

import re
import zoneinfo

import pytest

from core.people import User
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

ROW_ID = re.compile(r'data-row-id="(\d+)"')
# Not one of zoneinfo.available_timezones(): a folder of the zone data, a name longer than a
# file name may be (255 bytes), a file of the zone data that is no zone.
NOT_ZONES = ["America", "Europe/" + "x" * 260, "posixrules"]


@pytest.fixture
def owner(client, people):
    """Sign the test client in as the Super Admin; return a function posting a form."""
    assert sign_in(client, "owner@example.com").status_code == 302

    def post(path, **form):
        return client.post(path, data=form, headers={"X-CSRF-Token": csrf_token_of(client)})

    post.client = client
    return post


def error_of(page):
    """Return the text of the filter bar's error line."""
    found = re.search(r'<p id="feed-filter-error"[^>]*>(.*?)</p>', page, re.S)
    return found.group(1) if found else ""


@pytest.mark.parametrize("zone", NOT_ZONES, ids=lambda zone: zone[:30])
def test_adding_a_person_in_a_zone_not_offered_is_a_400_naming_time_zone(app, owner, zone):
    form = {"name": "Zed", "email": "zed@example.com", "role": "Teammate", "time_zone": zone}
    response = owner("/people", **form)
    assert response.status_code == 400, response.status_code
    assert "time_zone:" in response.text
    with app.app_context():
        assert not User.select().where(User.email == "zed@example.com").exists()


@pytest.mark.parametrize("zone", NOT_ZONES, ids=lambda zone: zone[:30])
def test_editing_a_person_into_a_zone_not_offered_is_a_400_naming_time_zone(
    app, owner, people, zone
):
    dana = people["teammate@example.com"]
    form = {"name": dana.name, "email": dana.email, "role": "Teammate", "time_zone": zone}
    response = owner(f"/people/{dana.id}", **form)
    assert response.status_code == 400, response.status_code
    assert "time_zone:" in response.text
    with app.app_context():
        assert User.get_by_id(dana.id).time_zone == dana.time_zone


def test_every_zone_offered_is_accepted_and_only_those(app, owner, people):
    # A guard of the other side: every name zoneinfo lists is offered and taken (Factory too).
    offered = zoneinfo.available_timezones()
    page = owner.client.get("/people").text
    assert set(re.findall(r"<option(?: selected)?>([^<]+)</option>", page)) == offered
    dana = people["teammate@example.com"]
    for zone in ("Factory", "Europe/Paris", "UTC"):
        form = {"name": dana.name, "email": dana.email, "role": "Teammate", "time_zone": zone}
        assert owner(f"/people/{dana.id}", **form).status_code == 302, zone
        with app.app_context():
            assert User.get_by_id(dana.id).time_zone == zone


def test_the_command_line_refuses_a_zone_not_offered_naming_the_option(app, people):
    for zone in ("America", "z" * 300, "posixrules"):
        result = app.test_cli_runner().invoke(
            args=[
                "users",
                "create",
                "--name",
                "Zed",
                "--email",
                "zed@example.com",
                "--role",
                "Teammate",
                "--password",
                "long-enough",
                "--time-zone",
                zone,
            ]
        )
        assert result.exit_code == 2, (zone, result.output, result.exception)
        assert "Invalid value for --time-zone" in result.output
    with app.app_context():
        assert not User.select().where(User.email == "zed@example.com").exists()


def test_a_stored_zone_that_is_no_longer_offered_shows_times_in_utc(app, people):
    # Written before zones were checked against the list (or by hand): pages still open.
    with app.app_context():
        User.update(time_zone="America").where(User.email == "admin@example.com").execute()
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 302
    for url in ("/stream/activity", "/workspace/tasks", "/profile"):
        assert client.get(url).status_code == 200, url


@pytest.fixture
def history(app, owner):
    """Record two companies' creation through the platform: Acme Corp, then Zebra Ltd."""
    for name in ("Acme Corp", "Zebra Ltd"):
        assert owner("/workspace/companies/new", name=name).status_code == 302
    owner.client.get("/workspace/companies")  # shows (and so clears) the "created" notices
    return owner.client


LONG_QUERIES = {
    "one word": "acme " + "w" * 5000,
    "dashes": "acme " + "-" * 5000,
    "backslashes": "acme " + "\\" * 5000,
}


@pytest.mark.parametrize("tab", ["activity", "email", "logins"])
@pytest.mark.parametrize("query", [LONG_QUERIES["dashes"], LONG_QUERIES["backslashes"]])
def test_a_search_too_long_is_a_400_naming_q(history, tab, query):
    assert len(query) >= 5000
    response = history.get(f"/stream/{tab}", query_string={"q": query})
    assert response.status_code == 400
    assert error_of(response.text).startswith("q: ")
    assert 'id="feed-results"' in response.text  # the bar and the list stay


@pytest.mark.parametrize("query", LONG_QUERIES.values(), ids=LONG_QUERIES.keys())
def test_a_search_too_long_keeps_the_rows_of_its_terms_that_were_fine(history, query):
    response = history.get("/stream/activity", query_string={"q": query})
    assert response.status_code == 400 and "q: " in error_of(response.text)
    assert "Acme Corp" in response.text and "Zebra Ltd" not in response.text
    assert len(ROW_ID.findall(response.text)) == 1


def test_a_search_of_too_many_terms_is_a_400_naming_q_with_the_rows_of_the_first(history):
    # A guard: this already held, and the search's refusals being collected must keep it.
    query = "acme " + " ".join(f"-nothing{i}" for i in range(40))
    response = history.get("/stream/activity", query_string={"q": query})
    assert response.status_code == 400
    assert error_of(response.text).startswith("q: ") and "at most 24 terms" in response.text
    assert "Acme Corp" in response.text and "Zebra Ltd" not in response.text


def test_every_refused_term_and_parameter_is_named_and_the_rest_still_applies(history):
    query = "acme colour:red created:2026-13-45 -type:task"
    response = history.get("/stream/activity", query_string={"q": query, "from": "someday"})
    assert response.status_code == 400
    message = error_of(response.text)
    for named in ("colour:", "created:", "from:"):
        assert named in message, named
    assert "Acme Corp" in response.text and "Zebra Ltd" not in response.text
