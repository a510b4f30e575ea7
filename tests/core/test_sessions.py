"""Revocation: a captured session cookie dies with sign-out-everywhere or a new password."""

import pytest

from core.people import User
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

EMAIL = "teammate@example.com"


@pytest.fixture
def thief(app, client, login):
    """Sign ``client`` in; return a second client holding a copy of its session cookie."""
    login(EMAIL)
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value)
    assert stolen.get("/profile").status_code == 200
    return stolen


def test_sign_out_everywhere_revokes_a_captured_cookie(client, thief):
    token = csrf_token_of(client)
    response = client.post("/profile/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert thief.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 302


def test_a_password_change_revokes_a_captured_cookie(app, client, thief):
    with app.app_context():
        user = User.get(User.email == EMAIL)
        user.set_password("a brand new password")
        user.save()
    assert thief.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 302


def test_the_cli_signs_a_user_out_everywhere(app, client, thief):
    result = app.test_cli_runner().invoke(args=["users", "sign-out-everywhere", EMAIL])
    assert result.exit_code == 0, result.output
    assert thief.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 302


def test_the_cli_refuses_an_unknown_email(app, people):
    result = app.test_cli_runner().invoke(
        args=["users", "sign-out-everywhere", "nobody@example.com"]
    )
    assert result.exit_code != 0
    assert "nobody@example.com" in result.output


def test_revoking_one_user_leaves_other_sessions_alone(app, client, thief, people):
    other = app.test_client()
    assert sign_in(other, "admin@example.com").status_code == 302
    app.test_cli_runner().invoke(args=["users", "sign-out-everywhere", EMAIL])
    assert other.get("/profile").status_code == 200


# Sessions as records: the cookie names a row; ending the row ends the cookie.


def open_sessions(app, email):
    """Return the ids of the open session rows of ``email``."""
    from core.auth.sessions import UserSession

    with app.app_context():
        user = User.get(User.email == email)
        query = UserSession.select().where(
            (UserSession.user_id == user.id) & UserSession.ended_at.is_null()
        )
        return [row.id for row in query.order_by(UserSession.id)]


def logged(app, *outcomes):
    """Return the recorded rows whose outcome is one of ``outcomes``, oldest first."""
    from core.auth.signins import SignInAttempt

    with app.app_context():
        query = SignInAttempt.select().where(SignInAttempt.outcome.in_(outcomes))
        return list(query.order_by(SignInAttempt.id))


def test_a_cookie_replayed_after_sign_out_is_refused_at_once(app, client, thief):
    (session_id,) = open_sessions(app, EMAIL)
    response = client.post("/logout", data={"csrf_token": csrf_token_of(client)})
    assert response.status_code == 302
    assert thief.get("/profile").status_code == 302  # the copied cookie is dead too
    assert open_sessions(app, EMAIL) == []
    (row,) = logged(app, "signed_out")
    assert row.session_id == session_id


def test_ending_one_session_from_the_profile_refuses_only_that_one(app, client, login):
    login(EMAIL)
    laptop = app.test_client()
    assert sign_in(laptop, EMAIL).status_code == 302
    phone_id, laptop_id = open_sessions(app, EMAIL)
    profile = client.get("/profile").text
    assert (
        f'data-session-id="{phone_id}"' in profile and f'data-session-id="{laptop_id}"' in profile
    )
    token = csrf_token_of(client)
    response = client.post(f"/profile/sessions/{laptop_id}/end", data={"csrf_token": token})
    assert response.status_code == 302
    assert laptop.get("/profile").status_code == 302
    assert client.get("/profile").status_code == 200
    assert open_sessions(app, EMAIL) == [phone_id]
    (row,) = logged(app, "session_revoked")
    assert (row.session_id, row.detail) == (laptop_id, "ended from the profile")


def test_nobody_ends_another_users_session(app, client, login):
    other = app.test_client()
    assert sign_in(other, "admin@example.com").status_code == 302
    (admin_session,) = open_sessions(app, "admin@example.com")
    login(EMAIL)
    token = csrf_token_of(client)
    response = client.post(f"/profile/sessions/{admin_session}/end", data={"csrf_token": token})
    assert response.status_code == 404
    assert other.get("/profile").status_code == 200


def test_sign_out_everywhere_closes_every_session_row(app, client, thief):
    laptop = app.test_client()
    assert sign_in(laptop, EMAIL).status_code == 302
    token = csrf_token_of(client)
    client.post("/profile/sign-out-everywhere", data={"csrf_token": token})
    assert open_sessions(app, EMAIL) == []
    assert len(logged(app, "session_revoked")) == 2
    assert laptop.get("/profile").status_code == 302


def test_a_password_change_closes_old_sessions_when_they_come_back(app, client, thief):
    with app.app_context():
        user = User.get(User.email == EMAIL)
        user.set_password("a brand new password")
        user.save()
    assert thief.get("/profile").status_code == 302
    assert len(logged(app, "session_revoked")) == 1


def test_an_expired_session_is_refused_and_recorded(app, client, login):
    from datetime import timedelta

    from core.auth.sessions import UserSession

    login(EMAIL)
    with app.app_context():
        (row,) = UserSession.select()
        UserSession.update(started_at=row.started_at - timedelta(hours=13)).execute()
    assert client.get("/profile").status_code == 302
    assert [row.outcome for row in logged(app, "session_expired")] == ["session_expired"]


def test_the_database_keeps_no_usable_token(app, client, login):
    from core.auth.sessions import UserSession

    login(EMAIL)
    cookie = client.get_cookie("session").value
    with app.app_context():
        (row,) = UserSession.select()
    with client.session_transaction() as session:
        token = session["_user_id"].rsplit(":", 1)[1]
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert cookie


def test_the_cli_closes_the_session_rows_too(app, client, thief):
    result = app.test_cli_runner().invoke(args=["users", "sign-out-everywhere", EMAIL])
    assert result.exit_code == 0, result.output
    assert open_sessions(app, EMAIL) == []
    (row,) = logged(app, "session_revoked")
    assert row.detail == "signed out by command"
