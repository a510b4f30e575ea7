"""Row density: each viewer's own choice of comfortable or compact rows, saved by the switch
beside the stream's title, refused with a message when it is not one of the two."""

import html

from core import migrations
from core.db import database
from core.people import User
from tests.conftest import csrf_token_of


def density_of(email):
    return User.get(User.email == email).density


def test_a_new_person_reads_comfortable_rows(app, people):
    assert density_of("admin@example.com") == "comfortable"


def test_the_switch_saves_the_viewers_choice_and_only_theirs(app, client, login):
    login("owner@example.com")
    token = csrf_token_of(client)
    answer = client.post(
        "/profile/density",
        data={"csrf_token": token, "density": "compact", "next": "/stream/email?q=x"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/stream/email?q=x")
    assert density_of("owner@example.com") == "compact"
    assert density_of("admin@example.com") == "comfortable"
    page = client.get("/stream/activity").text
    assert 'data-density="compact"' in page
    # Folded from the start in compact rows: no control filters.
    assert '<details class="more-filters" data-fold-on-phone>' in page
    assert '<details class="more-filters" open' in client.get("/stream/activity?actor=1").text


def test_from_the_page_the_answer_is_empty(app, client, login):
    login("owner@example.com")
    answer = client.post(
        "/profile/density",
        data={"csrf_token": csrf_token_of(client), "density": "compact"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 204
    assert density_of("owner@example.com") == "compact"


def test_an_unknown_density_is_refused_naming_the_field(app, client, login):
    login("admin@example.com")
    answer = client.post(
        "/profile/density", data={"csrf_token": csrf_token_of(client), "density": "tiny"}
    )
    assert answer.status_code == 400
    assert "density: 'tiny' is not one of comfortable, compact" in html.unescape(answer.text)
    assert density_of("admin@example.com") == "comfortable"


def test_an_outside_next_goes_home(app, client, login):
    login("admin@example.com")
    answer = client.post(
        "/profile/density",
        data={"csrf_token": csrf_token_of(client), "density": "compact", "next": "//evil.test/"},
    )
    assert answer.headers["Location"] in ("/", "http://localhost/")


def test_without_a_csrf_token_or_a_sign_in_nothing_changes(app, client, people, login):
    # Refused before anything else: no CSRF token (400), then no sign-in.
    assert client.post("/profile/density", data={"density": "compact"}).status_code == 400
    token = csrf_token_of(client)
    answer = client.post("/profile/density", data={"csrf_token": token, "density": "compact"})
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    login("admin@example.com")
    assert client.post("/profile/density", data={"density": "compact"}).status_code == 400
    assert density_of("admin@example.com") == "comfortable"


def test_the_upgrade_adds_the_column_to_an_older_database(app, people):
    with app.app_context():
        database.execute_sql('ALTER TABLE "user" DROP COLUMN density')
        database.execute_sql("DELETE FROM schema_migration WHERE name = 'core.0014_row_density'")
        migrations.upgrade(app)
        assert density_of("admin@example.com") == "comfortable"
