"""Bad input is a 4xx with a message, never a 500; concurrent requests share the pool safely."""

from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest

from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HUGE = "9" * 25
TOO_BIG_FOR_BIGINT = str(2**63)
PAST_INT_LIMIT = "7" * 5000  # int() refuses more than 4,300 digits
CSRF_REFUSAL = "did not come from this site"
NOT_FOUND = "Page not found"
NUL_REFUSAL = "holds a NUL character"
VOID_TAGS = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class ErrorText(HTMLParser):
    """The text of every ``role="alert"`` element and of the error page's box, one string each
    (an alert region present but empty on every page yields an empty string)."""

    def __init__(self):
        super().__init__()
        self.texts = []
        self.depth = 0  # > 0 while inside an element being collected

    def handle_starttag(self, tag, attrs):
        """Start collecting at an alert or the error box; track nesting inside one."""
        if tag in VOID_TAGS:
            return
        attributes = dict(attrs)
        if self.depth:
            self.depth += 1
        elif (
            attributes.get("role") == "alert"
            or "error-page" in (attributes.get("class") or "").split()
        ):
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag):
        """Stop collecting when the collected element closes."""
        if self.depth and tag not in VOID_TAGS:
            self.depth -= 1

    def handle_data(self, data):
        """Keep the text inside a collected element, whitespace folded."""
        if self.depth:
            self.texts[-1] = " ".join((self.texts[-1] + " " + data).split())


def error_messages(html):
    """Return the non-empty texts of ``html``'s alerts and error box."""
    parser = ErrorText()
    parser.feed(html)
    return [text for text in parser.texts if text]


def assert_says(response, words):
    """Assert the response's alert or error box holds ``words`` (a field's name with its
    reason, say) and is not the CSRF refusal."""
    messages = error_messages(response.text)
    assert any(words in text for text in messages), (words, messages)
    assert not any(CSRF_REFUSAL in text for text in messages), messages


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"/stream/activity/{TOO_BIG_FOR_BIGINT}", NOT_FOUND),
        (f"/stream/activity?team={2**62}", "team: expected a whole number"),
        (f"/stream/activity?actor={HUGE}", "actor: expected a whole number"),
        ("/stream/activity?to=9999-12-31", "to: 9999-12-31 is out of range"),
        ("/stream/activity?from=0001-01-01", "from: 0001-01-01 is out of range"),
        ("/stream/activity?q=%00", f"q: {NUL_REFUSAL}"),
        ("/stream/activity?verb=a%00b", f"verb: {NUL_REFUSAL}"),
        ("/stream/activity?actor=%C2%B2", "actor: expected a whole number"),  # "²" isdigit()
        (f"/workspace/tasks/{HUGE}", NOT_FOUND),
        ("/stream/activity/rows?after=abc", "after: expected a whole number"),
        (f"/stream/activity?actor={PAST_INT_LIMIT}", "actor: expected a whole number"),
        (f"/stream/activity?team={PAST_INT_LIMIT}", "team: expected a whole number"),
        (f"/stream/activity/rows?after={PAST_INT_LIMIT}", "after: expected a whole number"),
        (f"/stream/activity/{PAST_INT_LIMIT}", NOT_FOUND),
        (f"/workspace/tasks/{PAST_INT_LIMIT}", NOT_FOUND),
        ("/workspace/tasks/%EF%BC%91", NOT_FOUND),  # a fullwidth "1" must not find task 1
    ],
)
def test_malformed_urls_are_4xx_with_a_message(client, people, url, says):
    sign_in(client, "owner@example.com")
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert_says(response, says)


@pytest.mark.parametrize(
    ("path", "form", "says"),
    [
        (
            "/stream/settings/grant",
            {"tab": "activity", "kind": "role", "id": "²", "granted": "1"},
            "id: expected a whole number",
        ),
        (
            "/stream/settings/scope",
            {"tab": "activity", "id": HUGE, "scope": "all"},
            "id: expected a whole number",
        ),
        ("/stream/settings/preview", {"user": "²"}, "user: expected a whole number"),
        ("/workspace/tasks/bulk", {"task": "²", "action": "complete"}, "task: select"),
        ("/profile", {"time_zone": "Mars/Olympus"}, "time_zone: 'Mars/Olympus' is not"),
        # Refused before any view reads the form: the message names the character, not a field.
        ("/profile", {"time_zone": "Europe/Paris\x00"}, f"time_zone: {NUL_REFUSAL}"),
        (
            "/stream/settings/grant",
            {"tab": "activity", "kind": "role", "id": PAST_INT_LIMIT},
            "id: expected a whole number",
        ),
    ],
)
def test_malformed_forms_are_4xx_with_a_message_naming_the_field(client, people, path, form, says):
    sign_in(client, "owner@example.com")
    # The session's real token, sent as the form sends it: the values reach the form checks.
    response = client.post(path, data={**form, "csrf_token": csrf_token_of(client)})
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert_says(response, says)


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
        "/login",
        data={"email": "a\x00@example.com", "password": "x", "csrf_token": csrf_token_of(client)},
    )
    assert response.status_code == 400


def test_a_newline_in_next_does_not_reach_the_location_header(client, people):
    response = client.post(
        "/login",
        data={
            "email": "admin@example.com",
            "password": "demo-password",
            "next": "/\r\nX-Evil:1",
            "csrf_token": csrf_token_of(client),
        },
    )
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
