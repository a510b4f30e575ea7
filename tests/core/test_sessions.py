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
