"""The Security page is core's own: with only core and Settings it lists the person's rows,
changes a password and answers "This wasn't me" (no reset link: the page says so)."""

from core.auth.sessions import UserSession
from core.people import User
from core.testing import PASSWORD
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

ME = "teammate@example.com"
URL = "/profile/security"
NEW = "a long and fresh passphrase"


def post(client, url, **data):
    """POST ``data`` with the client's CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf_token_of(client)})


def test_without_the_people_and_email_plugins_the_page_still_works(app, people):
    me, laptop = app.test_client(), app.test_client()
    assert sign_in(laptop, ME).status_code == 302
    assert sign_in(me, ME).status_code == 302
    page = me.get(URL)
    assert page.status_code == 200
    assert page.text.count("data-sign-in-id=") == 2
    changed = post(
        me,
        f"{URL}/password",
        current_password=PASSWORD,
        new_password=NEW,
        confirmation=NEW,
    )
    assert changed.status_code == 302
    assert me.get(URL).status_code == 200
    assert laptop.get(URL).status_code == 302
    reported = post(me, f"{URL}/not-me", confirm="yes")
    assert reported.status_code == 200
    assert "ask an administrator for a password link" in reported.text
    assert me.get(URL).status_code == 302
    with app.app_context():
        user = User.get(User.email == ME)
        assert (
            not UserSession.select()
            .where((UserSession.user_id == user.id) & UserSession.ended_at.is_null())
            .exists()
        )
    assert sign_in(app.test_client(), ME, NEW).status_code == 302  # the password stays


def test_a_missing_csrf_token_is_refused(app, people):
    me = app.test_client()
    assert sign_in(me, ME).status_code == 302
    for url in (f"{URL}/password", f"{URL}/not-me"):
        refused = me.post(url, data={"confirm": "yes"})
        assert refused.status_code == 400
        assert "did not come from this site" in refused.text
    assert me.get(URL).status_code == 200  # nothing happened
