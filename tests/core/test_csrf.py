"""CSRF: every state-changing request needs the session's token, in the form or a header."""

from tests.conftest import csrf_token_of


def test_a_post_without_a_token_is_refused_with_a_message(client, login):
    login("admin@example.com")
    response = client.post("/profile", data={"time_zone": "Europe/Paris"})
    assert response.status_code == 400
    assert "did not come from this site" in response.text


def test_a_post_with_a_wrong_token_is_refused(client, login):
    login("admin@example.com")
    response = client.post(
        "/profile", data={"time_zone": "Europe/Paris"}, headers={"X-CSRF-Token": "forged"}
    )
    assert response.status_code == 400


def test_the_token_in_the_header_is_accepted(client, login):
    login("admin@example.com")
    response = client.post(
        "/profile",
        data={"time_zone": "Europe/Paris"},
        headers={"X-CSRF-Token": csrf_token_of(client)},
    )
    assert response.status_code == 302
    assert "<option selected>Europe/Paris</option>" in client.get("/profile").text


def test_sign_in_itself_needs_the_token(client, people):
    response = client.post(
        "/login", data={"email": "admin@example.com", "password": "demo-password"}
    )
    assert response.status_code == 400
    assert client.get("/profile").status_code == 302
