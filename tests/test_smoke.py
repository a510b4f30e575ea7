"""The smallest end-to-end check: an admin signs in and reaches the stream."""

from tests.conftest import sign_in


def test_admin_signs_in_and_reaches_the_stream(client, people):
    response = sign_in(client, "admin@example.com")
    assert response.status_code == 302
    response = client.get("/stream", follow_redirects=True)
    assert response.status_code == 200
    assert 'role="tablist"' in response.text
