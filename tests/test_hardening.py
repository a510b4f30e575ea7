"""Bad input is a 4xx with a message, never a 500; concurrent requests share the pool safely."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HUGE = "9" * 25
TOO_BIG_FOR_BIGINT = str(2**63)
PAST_INT_LIMIT = "7" * 5000  # int() refuses more than 4,300 digits


@pytest.mark.parametrize(
    "url",
    [
        f"/stream/activity/{TOO_BIG_FOR_BIGINT}",
        f"/stream/activity?team={2**62}",
        f"/stream/activity?actor={HUGE}",
        "/stream/activity?to=9999-12-31",
        "/stream/activity?from=0001-01-01",
        "/stream/activity?q=%00",
        "/stream/activity?verb=a%00b",
        "/stream/activity?actor=%C2%B2",  # "²" passes str.isdigit()
        f"/workspace/tasks/{HUGE}",
        "/stream/activity/rows?after=abc",
        f"/stream/activity?actor={PAST_INT_LIMIT}",
        f"/stream/activity?team={PAST_INT_LIMIT}",
        f"/stream/activity/rows?after={PAST_INT_LIMIT}",
        f"/stream/activity/{PAST_INT_LIMIT}",
        f"/workspace/tasks/{PAST_INT_LIMIT}",
        "/workspace/tasks/%EF%BC%91",  # a fullwidth "1" must not find task 1
    ],
)
def test_malformed_urls_are_4xx_with_a_message(client, people, url):
    sign_in(client, "owner@example.com")
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert 'class="error-page"' in response.text or "alert" in response.text


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/stream/settings/grant", {"tab": "activity", "kind": "role", "id": "²", "granted": "1"}),
        ("/stream/settings/scope", {"tab": "activity", "id": HUGE, "scope": "all"}),
        ("/stream/settings/preview", {"user": "²"}),
        ("/workspace/tasks/bulk", {"task": "²", "action": "complete"}),
        ("/profile", {"time_zone": "Europe/Paris\x00"}),
        ("/stream/settings/grant", {"tab": "activity", "kind": "role", "id": PAST_INT_LIMIT}),
    ],
)
def test_malformed_forms_are_4xx(client, people, path, form):
    sign_in(client, "owner@example.com")
    response = client.post(path, data=form, headers={"X-CSRF-Token": csrf_token_of(client)})
    assert 400 <= response.status_code < 500, (path, response.status_code)


def test_a_form_too_large_is_413_with_a_message(client, people):
    sign_in(client, "owner@example.com")
    response = client.post(
        "/workspace/tasks/new",
        data={"title": "x" * (10 * 1024 * 1024), "csrf_token": csrf_token_of(client)},
    )
    assert response.status_code == 413
    assert "larger than this site accepts" in response.text


def test_signed_in_pages_are_never_stored(client, people):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    sign_in(client, "owner@example.com")
    for url in ("/workspace/documents", "/profile", "/stream/activity"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


def test_sign_in_with_a_nul_byte_is_refused(client, people):
    response = client.post(
        "/login", data={"email": "a\x00@example.com", "password": "x",
                        "csrf_token": csrf_token_of(client)},
    )  # fmt: skip
    assert response.status_code == 400


def test_a_newline_in_next_does_not_reach_the_location_header(client, people):
    response = client.post(
        "/login",
        data={"email": "admin@example.com", "password": "demo-password",
              "next": "/\r\nX-Evil:1", "csrf_token": csrf_token_of(client)},
    )  # fmt: skip
    assert response.status_code == 302
    assert "X-Evil" not in response.headers.get("Location", "")


def test_new_events_banner_opened_directly_is_the_tab(client, people):
    sign_in(client, "admin@example.com")
    response = client.get("/stream/activity/new?since=0&action=created")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/stream/activity?action=created")


def test_concurrent_requests_from_many_threads_all_succeed(app, people):
    """Pooled connections move between threads (threaded servers): none may fail."""
    clients = []
    for _ in range(6):
        client = app.test_client()
        sign_in(client, "admin@example.com")
        clients.append(client)

    def fetch(index):
        response = clients[index % len(clients)].get("/stream/activity")
        return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(fetch, range(60)))
    assert statuses == [200] * 60


def test_a_static_file_reads_nothing_from_the_database(app, client, people):
    from playhouse.test_utils import count_queries

    sign_in(client, "owner@example.com")
    with count_queries() as counter:
        response = client.get("/static/app.css")
        response.close()
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert counter.count == 0
