"""Every person's own Security page: their sign-ins only, their sessions, a password change
that refuses what it should (and is no way round the sign-in limits), and "This wasn't me"."""

import re

import pytest

from core.auth.security import COMMON_MESSAGE
from core.auth.security import common_passwords
from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.events import ActivityEvent
from core.people import User
from core.people import create_user
from core.testing import PASSWORD
from tests.conftest import csrf_token_of
from tests.conftest import rows_seen_by
from tests.conftest import sign_in

URL = "/profile/security"
ME = "teammate@example.com"
OTHER = "admin@example.com"
NEW = "a long and fresh passphrase"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def signed_in(app, email, password=PASSWORD, agent=None, ip="127.0.0.1"):
    """Return a new test client signed in as ``email`` from ``agent`` at ``ip``."""
    client = app.test_client()
    if agent:
        client.environ_base["HTTP_USER_AGENT"] = agent
    client.environ_base["REMOTE_ADDR"] = ip
    response = sign_in(client, email, password)
    assert response.status_code == 302, response.text
    return client


def post(client, url, **data):
    """POST ``data`` with the client's CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf_token_of(client)})


def change(client, current=PASSWORD, new=NEW, confirmation=None):
    """Send the password form."""
    return post(
        client,
        f"{URL}/password",
        current_password=current,
        new_password=new,
        confirmation=new if confirmation is None else confirmation,
    )


def listed_ids(html):
    """Return the ids of the sign-in rows a page lists."""
    return {int(found) for found in re.findall(r'data-sign-in-id="(\d+)"', html)}


def rows_of(app, email):
    """Return the ids of the sign-in log's rows carrying ``email``'s user id."""
    with app.app_context():
        user = User.get(User.email == email)
        query = SignInAttempt.select(SignInAttempt.id).where(SignInAttempt.user_id == user.id)
        return {row.id for row in query}


def open_sessions(app, email):
    """Return how many sessions of ``email`` are open."""
    with app.app_context():
        user = User.get(User.email == email)
        return (
            UserSession.select()
            .where((UserSession.user_id == user.id) & UserSession.ended_at.is_null())
            .count()
        )


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    for method, url in (("GET", URL), ("POST", f"{URL}/password"), ("POST", f"{URL}/not-me")):
        response = client.open(url, method=method, data={"csrf_token": csrf_token_of(client)})
        assert response.status_code == 302
        assert "/login?next=" in response.headers["Location"]


def test_each_person_sees_their_own_sign_ins_and_nobody_elses(app, people):
    # Two people with sign-ins and failures, from different browsers and addresses.
    sign_in(app.test_client(), ME, "not my password")  # a stranger typing my email
    sign_in(app.test_client(), OTHER, "not the admin's password")
    sign_in(app.test_client(), "nobody@example.com", "whatever")
    admin = signed_in(app, OTHER, agent=PHONE, ip="10.9.9.9")
    me = signed_in(app, ME)
    mine, theirs = rows_of(app, ME), rows_of(app, OTHER)
    assert mine and theirs and not mine & theirs
    page = me.get(URL)
    assert page.status_code == 200
    assert listed_ids(page.text) == mine
    assert "Wrong password" in page.text  # the stranger's attempt with my email is about me
    for never in (OTHER, people[OTHER].name, "10.9.9.9", "nobody@example.com", "iPhone"):
        assert never not in page.text
    assert listed_ids(admin.get(URL).text) == theirs


def test_rows_read_in_the_persons_zone_with_browser_place_and_flags(app, people):
    with app.app_context():
        User.update(time_zone="Asia/Tokyo").where(User.email == ME).execute()
    signed_in(app, ME)
    me = signed_in(app, ME, agent=PHONE, ip="81.2.69.160")  # a new browser, IP and country
    page = me.get(URL).text
    assert "JST" in page
    assert "Mobile Safari on iOS 17 · iPhone" in page
    assert "United Kingdom" in page
    for flag in ("new browser", "new IP", "new country"):
        assert f'<span class="badge login-flag">{flag}</span>' in page


def test_the_list_is_capped_with_a_note(app, people):
    for _ in range(3):
        sign_in(app.test_client(), ME, "wrong guess")
    me = signed_in(app, ME)
    from core.auth import security

    limit, security.RECENT = security.RECENT, 2
    try:
        page = me.get(URL).text
    finally:
        security.RECENT = limit
    assert len(listed_ids(page)) == 2
    assert "Older ones are kept" in page


@pytest.mark.parametrize(
    "email", ["client@example.com", "freelancer@example.com", "owner@example.com"]
)
def test_every_role_that_signs_in_has_its_own_page(app, people, email):
    client = signed_in(app, email)
    page = client.get(URL)
    assert page.status_code == 200
    assert listed_ids(page.text) == rows_of(app, email)
    assert people[email].email in page.text


def test_a_lead_cannot_sign_in_so_has_no_page(app, people):
    with app.app_context():
        lead = create_user("Lee Lead", "lee@example.com", "Lead")
        lead.set_password(PASSWORD)
        lead.save()
    client = app.test_client()
    assert sign_in(client, "lee@example.com").status_code == 401
    assert client.get(URL).status_code == 302


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"current": ""}, "current_password", "enter your current password"),
        ({"new": "short1"}, "new_password", "must be at least 8 characters"),
        ({"new": "x" * 201}, "new_password", "must be at most 200 characters"),
        ({"new": "Password123"}, "new_password", COMMON_MESSAGE),
        ({"confirmation": "something else"}, "confirmation", "the two new passwords differ"),
        ({"current": "not my password"}, "current_password", "that is not your current password"),
    ],
)
def test_the_password_form_refuses_and_says_why(app, people, form, field, words):
    me = signed_in(app, ME)
    response = change(me, **form)
    assert response.status_code == 400
    assert f"<strong>{field}:</strong> {words}" in response.text.replace("&#39;", "'")
    assert sign_in(app.test_client(), ME).status_code == 302  # the password did not change


def test_the_common_list_is_bundled_and_checked_in_any_case():
    assert len(common_passwords()) > 10_000
    assert "password123" in common_passwords()


def test_a_wrong_current_password_is_recorded_and_counted_like_a_sign_in(app, people):
    me = signed_in(app, ME)
    limit = app.config["LOCK_ACCOUNT_LIMIT"]
    for _ in range(limit):
        assert change(me, current="guess").status_code == 400
    # The limit is reached: even the right password is not checked now.
    refused = change(me)
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    assert int(refused.headers["Retry-After"]) > 0
    with app.app_context():
        failures = SignInAttempt.select().where(
            (SignInAttempt.outcome == "wrong_password")
            & (SignInAttempt.detail == "current password refused on the Security page")
        )
        assert failures.count() == limit
    assert sign_in(app.test_client(), ME, NEW).status_code == 401  # never changed


def test_a_new_password_ends_every_other_session_and_keeps_this_one(people_app):
    app = people_app
    laptop = signed_in(app, ME)
    me = signed_in(app, ME, agent=PHONE)
    other = signed_in(app, OTHER)
    response = change(me)
    assert response.status_code == 302
    page = me.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Your password is changed" in page.text
    with app.app_context():  # ended at once, and recorded, before the laptop comes back
        ended = SignInAttempt.select().where(
            (SignInAttempt.outcome == "session_revoked")
            & (SignInAttempt.detail == "password changed on the Security page")
        )
        assert ended.count() == 1
    assert laptop.get(URL).status_code == 302
    assert other.get(URL).status_code == 200  # someone else's sessions are theirs
    assert open_sessions(app, ME) == 1
    assert sign_in(app.test_client(), ME).status_code == 401
    assert sign_in(app.test_client(), ME, NEW).status_code == 302
    from plugins.email.models import EmailMessage

    with app.app_context():
        user = User.get(User.email == ME)
        notice = EmailMessage.get(EmailMessage.kind == "user.password_changed")
        assert (notice.recipient_id, notice.private) == (user.id, True)
        assert "/profile/security" in notice.text_body
        event = ActivityEvent.select().where(ActivityEvent.verb == "user.updated").get()
        assert event.summary == "Password changed on the Security page"


@pytest.fixture
def people_app(make_app, smtp_server):
    """An app whose mail goes to a real SMTP server, with the demo people."""
    from core.db import database
    from core.demo import seed_people

    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context(), database.atomic():
        seed_people()
    return app


def test_this_wasnt_me_needs_its_confirmation(app, people):
    me = signed_in(app, ME)
    response = post(me, f"{URL}/not-me")
    assert response.status_code == 400
    assert "<strong>confirm:</strong>" in response.text
    assert me.get(URL).status_code == 200


def test_this_wasnt_me_ends_every_session_mails_a_reset_link_and_tells_the_admins(people_app):
    from plugins.email.models import EmailMessage

    app = people_app
    laptop = signed_in(app, ME)
    me = signed_in(app, ME, agent=PHONE)
    admin = signed_in(app, OTHER)
    answer = post(me, f"{URL}/not-me", confirm="yes")
    assert answer.status_code == 200
    assert "You are signed out everywhere" in answer.text
    assert "2 sessions ended" in answer.text
    assert "/password/" not in answer.text  # the link is mailed, never shown
    with me.session_transaction() as cookie:
        assert "_user_id" not in cookie  # this browser's cookie is emptied too
    assert me.get(URL).status_code == 302 and laptop.get(URL).status_code == 302
    assert admin.get(URL).status_code == 200
    assert open_sessions(app, ME) == 0
    assert sign_in(app.test_client(), ME).status_code == 401  # the old password is gone
    with app.app_context():
        user = User.get(User.email == ME)
        mails = list(EmailMessage.select().order_by(EmailMessage.id))
        reset = [m for m in mails if m.kind == "user.reset"]
        assert [(m.recipient_id, m.private) for m in reset] == [(user.id, True)]
        told = {m.recipient_id for m in mails if m.kind == "user.reported_suspicious_activity"}
        admins = {
            u.id
            for u in User.select()
            if u.active and u.role.kind in ("owner", "admin") and u.id != user.id
        }
        assert told == admins and len(admins) >= 2
        event = ActivityEvent.get(ActivityEvent.verb == "user.reported_suspicious_activity")
        assert event.actor_id == user.id
        ended = SignInAttempt.select().where(
            (SignInAttempt.user_id == user.id) & (SignInAttempt.detail == "reported as not them")
        )
        assert ended.count() == 2
        ended_ids = {row.id for row in ended}
    # The report is on the Activity tab for the Super Admin, and its session ends on Logins.
    assert event.id in rows_seen_by(app, "owner@example.com", "activity")
    logins = set(rows_seen_by(app, "owner@example.com", "logins"))
    assert ended_ids <= logins
    link = re.search(r"https?://[^/\s]+(/password/\S+)", reset[0].text_body).group(1)
    visitor = app.test_client()
    chosen = post(visitor, link, password=NEW, confirmation=NEW)
    assert chosen.status_code == 302
    assert sign_in(app.test_client(), ME, NEW).status_code == 302


def test_without_mail_this_wasnt_me_keeps_the_password_and_says_so(app, people):
    me = signed_in(app, ME)
    answer = post(me, f"{URL}/not-me", confirm="yes")
    assert answer.status_code == 200
    assert "ask an administrator for a password link" in answer.text
    assert me.get(URL).status_code == 302
    assert sign_in(app.test_client(), ME).status_code == 302


def test_the_profile_links_the_security_page(client, login):
    login(ME)
    assert f'href="{URL}"' in client.get("/profile").text


def test_the_new_browser_mail_links_the_security_page(people_app):
    from plugins.email.models import EmailMessage

    signed_in(people_app, ME)
    signed_in(people_app, ME, agent=PHONE)
    with people_app.app_context():
        notice = EmailMessage.get(EmailMessage.kind == "login.new_client")
    assert "change your password" in notice.text_body
    assert re.search(r"https?://[^/\s]+/profile/security\b", notice.text_body)
    assert 'href="http://localhost/profile/security"' in notice.html_body
