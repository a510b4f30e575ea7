"""Sign-in: cookies, failures in one voice, who may sign in, safe redirects, session rotation."""

import html
import re

from core.auth.views import FAILURE_MESSAGE
from core.people import User
from tests.conftest import csrf_token_of
from tests.conftest import sign_in


def alert_of(response):
    """Return the text of the sign-in form's alert (unescaped)."""
    match = re.search(r'<p class="alert" role="alert">(.*?)</p>', response.text, re.S)
    assert match, response.text
    return html.unescape(match.group(1))


def session_cookie(response):
    """Return the Set-Cookie header of the session cookie in ``response``."""
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert len(cookies) == 1, cookies
    return cookies[0]


def test_success_redirects_and_sets_an_httponly_lax_session_cookie(client, people):
    response = sign_in(client, "admin@example.com")
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie
    assert "; Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert client.get("/profile").status_code == 200


def test_session_cookie_is_secure_over_https(app):
    response = app.test_client().get("/login", base_url="https://localhost")
    assert "; Secure" in session_cookie(response)


def test_wrong_password_and_unknown_email_fail_alike(client, people):
    wrong = sign_in(client, "admin@example.com", "not-the-password")
    unknown = sign_in(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert alert_of(wrong) == alert_of(unknown) == FAILURE_MESSAGE
    assert client.get("/profile").status_code == 302


def assert_refused(client, email):
    response = sign_in(client, email)
    assert response.status_code == 401
    assert alert_of(response) == FAILURE_MESSAGE
    assert client.get("/profile").status_code == 302


def test_a_lead_cannot_sign_in(client, people):
    assert_refused(client, "lead@example.com")


def test_an_inactive_user_cannot_sign_in(app, client, people):
    with app.app_context():
        User.update(active=False).where(User.email == "sales@example.com").execute()
    assert_refused(client, "sales@example.com")


def test_a_deactivated_user_loses_the_session_they_hold(app, client, login):
    login("teammate@example.com")
    assert client.get("/profile").status_code == 200
    with app.app_context():
        User.update(active=False).where(User.email == "teammate@example.com").execute()
    assert client.get("/profile").status_code == 302


def test_next_is_followed_only_on_this_site(client, people):
    for target, location in (
        ("/profile?tab=1", "/profile?tab=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ):
        response = client.post(
            "/login",
            data={
                "email": "admin@example.com",
                "password": "demo-password",
                "next": target,
                "csrf_token": csrf_token_of(client),
            },
        )
        assert response.status_code == 302, target
        assert response.headers["Location"] == location, target


def test_sign_in_rotates_the_session_and_the_csrf_token(client, people):
    old_token = csrf_token_of(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    old_cookie = client.get_cookie("session").value
    assert sign_in(client, "admin@example.com").status_code == 302
    assert client.get_cookie("session").value != old_cookie
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["csrf_token"] != old_token
    stale = client.post("/profile", data={"time_zone": "UTC", "csrf_token": old_token})
    assert stale.status_code == 400
    fresh = client.post("/profile", data={"time_zone": "UTC", "csrf_token": csrf_token_of(client)})
    assert fresh.status_code == 302


def test_sign_out_needs_a_post(client, login):
    login("admin@example.com")
    assert client.get("/logout").status_code == 200
    assert client.get("/profile").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token_of(client)})
    assert response.status_code == 302
    assert client.get("/profile").status_code == 302
