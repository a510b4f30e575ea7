"""Two web hosts of one install: two gunicorn servers on different loopback addresses, one
PostgreSQL database, one Redis queue, one secret key. One browser session alternates between
them, and a change made through either appears in the other's "N new" banner."""

import contextlib

import pytest
from playwright.sync_api import expect

from core.testing import PASSWORD
from tests.scale.conftest import host_env
from tests.scale.conftest import query
from tests.scale.conftest import seed_people
from tests.scale.conftest import serve

pytestmark = pytest.mark.browser

ADDRESSES = ("127.0.0.2", "127.0.0.3")  # two hosts, as far as cookies go: two names
BANNER_WAIT = 35_000  # ms: the banner polls every 15 s; two polls, on a loaded machine


@pytest.fixture
def two_hosts(scale_database, scale_redis, tmp_path):
    """Serve the app from two gunicorn servers on one database and queue; yield their URLs."""
    env = host_env(scale_database, scale_redis)
    seed_people(env)
    with contextlib.ExitStack() as stack:
        urls = [
            stack.enter_context(serve(address, env, tmp_path / f"gunicorn-{address}.log"))[0]
            for address in ADDRESSES
        ]
        yield urls


def _name_and_value(cookie):
    return {"name": cookie["name"], "value": cookie["value"]}


def open_sessions_of(database_url, email):
    """Return how many open session records ``email`` has."""
    return query(
        database_url,
        'SELECT COUNT(*) FROM user_session s JOIN "user" u ON u.id = s.user_id'
        " WHERE u.email = %s AND s.ended_at IS NULL",
        (email,),
    )[0][0]


def create_company(page, base_url, name):
    """Create a company through ``base_url``'s form; wait for its page on the same host."""
    page.goto(f"{base_url}/workspace/companies/new")
    page.fill("input[name=name]", name)
    with page.expect_navigation():
        page.get_by_role("button", name="Create company").click()
    assert page.url.startswith(f"{base_url}/workspace/companies/"), page.url
    expect(page.locator("body")).to_contain_text(name)


def open_activity(page, base_url):
    """Open the Activity tab on ``base_url``, signed in (no detour to the sign-in form)."""
    page.goto(f"{base_url}/stream/activity")
    assert page.url == f"{base_url}/stream/activity", f"not signed in on {base_url}: {page.url}"
    expect(page.locator("#panel")).to_have_attribute("data-tab", "activity")


def test_one_session_alternates_between_two_hosts_and_each_announces_the_others_change(
    two_hosts, browser, scale_database
):
    host_a, host_b = two_hosts
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{host_a}/login")
        page.fill("input[name=email]", "admin@example.com")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("form button[type=submit]")

        # The cookie host A set, carried to host B: B knows the session (the record is in
        # the shared database, the cookie signed with the shared key).
        cookies = context.cookies(host_a)
        assert cookies, "host A set no cookie"
        context.add_cookies([{**_name_and_value(cookie), "url": host_b} for cookie in cookies])
        for base_url in (host_b, host_a, host_b, host_a):
            open_activity(page, base_url)
        assert open_sessions_of(scale_database, "admin@example.com") == 1
        # A form of host B posts with the session's CSRF token: a first row for the lists.
        create_company(page, host_b, "Before the watch")

        stream_a, stream_b = context.new_page(), context.new_page()
        open_activity(stream_a, host_a)
        open_activity(stream_b, host_b)
        for stream in (stream_a, stream_b):
            expect(stream.locator("#panel")).to_contain_text("Before the watch")

        create_company(page, host_a, "Made through host A")
        create_company(page, host_b, "Made through host B")

        # Each host's banner counts both: the one made through it and the other host's.
        for stream in (stream_a, stream_b):
            banner = stream.locator("#new-events")
            expect(banner).to_contain_text("2 new events", timeout=BANNER_WAIT)
            banner.get_by_role("link").click()
            expect(stream.locator("#panel")).to_contain_text("Made through host A")
            expect(stream.locator("#panel")).to_contain_text("Made through host B")
    finally:
        context.close()
