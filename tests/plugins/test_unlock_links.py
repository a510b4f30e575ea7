"""The one-time "unlock and sign in" link of a lock's notice, through a real SMTP server: it
works once, for its time, with the account's password, and lets the rightful user past an
account lock that someone else keeps in force."""

import re
from datetime import timedelta

import pytest

from core.auth import signins
from core.auth import unlocks
from core.auth.signins import SignInAttempt
from core.auth.throttle import SignInThrottle
from core.auth.unlocks import UnlockLink
from core.db import database
from core.db import utcnow
from core.demo import seed_people
from core.people import User
from tests.conftest import SIGN_IN_CANARY as CANARY
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.core.test_auth import alert_of
from tests.core.test_signins import FIREFOX
from tests.core.test_signins import IPHONE
from tests.core.test_signins_throttle import CHROME
from tests.core.test_signins_throttle import browser_at

LINK = re.compile(r"http://localhost(/login/unlock/[A-Za-z0-9_-]+)")


@pytest.fixture
def mail_app(make_app, smtp_server):
    """An app that mails through a real SMTP server on loopback, with the demo people."""
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context(), database.atomic():
        seed_people()
    return app


def lock_out(app, email="owner@example.com"):
    """Lock ``email`` with five wrong passwords from a stranger's browser and address."""
    attacker = browser_at(app, "203.0.113.9", CHROME)
    for _ in range(5):
        last = sign_in(attacker, email, CANARY)
    assert int(last.headers["Retry-After"]) >= 900
    return attacker


def mailed_link(smtp_server, email="owner@example.com"):
    """Return the path of the unlock link in the last lock notice mailed to ``email``."""
    notices = [
        message
        for message in smtp_server.messages()
        if message["To"].addresses[0].addr_spec == email and "locked" in message["Subject"]
    ]
    assert notices, [message["Subject"] for message in smtp_server.messages()]
    text = notices[-1].get_body(("plain",)).get_content()
    html = notices[-1].get_body(("html",)).get_content()
    (path,) = LINK.findall(text)
    assert path in html
    assert "nothing is needed" not in text
    return path


def post_password(client, path, password):
    """Post the link page's form."""
    return client.post(path, data={"password": password, "csrf_token": csrf_token_of(client)})


def test_the_link_unlocks_and_signs_in_once(mail_app, smtp_server):
    attacker = lock_out(mail_app)
    laptop = browser_at(mail_app, "81.2.69.160", FIREFOX)  # the owner's, never used before
    held = sign_in(laptop, "owner@example.com")
    assert held.status_code == 401
    assert alert_of(held) == (
        "Too many attempts for this name. Try again in 15 minutes, "
        "or use the link sent to the account's address."
    )
    path = mailed_link(smtp_server)
    page = laptop.get(path)
    assert page.status_code == 200 and "Unlock and sign in" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    wrong = post_password(laptop, path, CANARY)
    assert wrong.status_code == 401 and alert_of(wrong) == "That password is not right. Try again."
    assert laptop.get("/profile").status_code == 302
    right = post_password(laptop, path, "demo-password")
    assert right.status_code == 302
    profile = laptop.get("/profile")
    assert profile.status_code == 200 and "Your account is unlocked" in profile.text
    with mail_app.app_context():
        assert signins.UNLOCKED in [row.outcome for row in SignInAttempt.select()]
        unlocked = SignInAttempt.get(SignInAttempt.outcome == signins.UNLOCKED)
        assert "with the emailed link" in unlocked.detail
        lock = SignInThrottle.get(SignInThrottle.key == "account:owner@example.com")
        assert lock.locked_until is None
    # Used once: a second use is refused, on its page and its form alike.
    again = browser_at(mail_app, "81.2.69.160", FIREFOX)
    assert again.get(path).status_code == 404
    assert post_password(again, path, "demo-password").status_code == 404
    # The laptop now counts as known: the stranger's next lock does not hold it.
    lock_out(mail_app)
    assert sign_in(attacker, "owner@example.com").status_code == 401
    back = browser_at(mail_app, "81.2.69.160", FIREFOX)
    assert sign_in(back, "owner@example.com").status_code == 302


def test_an_expired_link_is_refused(mail_app, smtp_server):
    lock_out(mail_app)
    path = mailed_link(smtp_server)
    with mail_app.app_context():
        UnlockLink.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    laptop = browser_at(mail_app, "81.2.69.160", FIREFOX)
    assert laptop.get(path).status_code == 404
    assert post_password(laptop, path, "demo-password").status_code == 404
    assert laptop.get("/profile").status_code == 302
    assert sign_in(laptop, "owner@example.com").status_code == 401  # still locked


def test_a_link_allows_no_more_password_checks_than_the_account_limit(mail_app, smtp_server):
    lock_out(mail_app)
    path = mailed_link(smtp_server)
    guesser = browser_at(mail_app, "81.2.69.160", IPHONE)
    for _ in range(5):
        assert post_password(guesser, path, CANARY).status_code == 401
    assert post_password(guesser, path, "demo-password").status_code == 404
    assert guesser.get("/profile").status_code == 302


def test_a_link_is_for_its_user_while_they_may_sign_in(mail_app):
    with mail_app.app_context(), database.atomic():
        owner = User.get(User.email == "owner@example.com")
        token = unlocks.issue(owner, owner.email)
        User.update(active=False).where(User.id == owner.id).execute()
    laptop = browser_at(mail_app, "81.2.69.160", FIREFOX)
    assert laptop.get(f"/login/unlock/{token}").status_code == 404
    assert laptop.get("/login/unlock/not-a-token").status_code == 404


def test_a_deactivated_account_locked_gets_no_link(mail_app):
    with mail_app.app_context():
        User.update(active=False).where(User.email == "teammate@example.com").execute()
    lock_out(mail_app, "teammate@example.com")
    with mail_app.app_context():
        assert UnlockLink.select().count() == 0  # a link that could only answer 404
