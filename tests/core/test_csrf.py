"""CSRF: every state-changing request needs the session's token, in the form or a header; a
refused request changes nothing."""

from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.people import User
from tests.conftest import csrf_token_of

ADMIN = "admin@example.com"
NEW_ZONE = "Europe/Paris"  # not the Admin's zone (America/New_York): a change would show


def time_zone_of(app, email):
    """Return ``email``'s saved time zone, read from the database."""
    with app.app_context():
        return User.get(User.email == email).time_zone


def sign_in_rows(app):
    """Return how many sign-in attempts and sessions are recorded."""
    with app.app_context():
        return SignInAttempt.select().count(), UserSession.select().count()


def test_a_post_without_a_token_is_refused_with_a_message(app, client, login):
    login(ADMIN)
    zone = time_zone_of(app, ADMIN)
    assert zone != NEW_ZONE
    response = client.post("/profile", data={"time_zone": NEW_ZONE})
    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert time_zone_of(app, ADMIN) == zone  # the refused form changed nothing


def test_a_post_with_a_wrong_token_is_refused(app, client, login):
    login(ADMIN)
    zone = time_zone_of(app, ADMIN)
    assert zone != NEW_ZONE
    response = client.post(
        "/profile", data={"time_zone": NEW_ZONE}, headers={"X-CSRF-Token": "forged"}
    )
    assert response.status_code == 400
    assert time_zone_of(app, ADMIN) == zone


def test_the_token_in_the_header_is_accepted(app, client, login):
    login(ADMIN)
    response = client.post(
        "/profile",
        data={"time_zone": NEW_ZONE},
        headers={"X-CSRF-Token": csrf_token_of(client)},
    )
    assert response.status_code == 302
    assert f"<option selected>{NEW_ZONE}</option>" in client.get("/profile").text
    assert time_zone_of(app, ADMIN) == NEW_ZONE


def test_sign_in_itself_needs_the_token(app, client, people):
    before = sign_in_rows(app)
    response = client.post("/login", data={"email": ADMIN, "password": "demo-password"})
    assert response.status_code == 400
    assert client.get("/profile").status_code == 302
    assert sign_in_rows(app) == before  # no attempt recorded, no session opened
