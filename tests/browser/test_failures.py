"""Failures a reader meets, in real Chromium: a server that fails or cannot be reached while a
filter, a tab or the next page loads. The message says so where the rows are, with Try again;
the URL, the selected tab and the rows stay consistent; nothing is lost."""

import re
import time

from playwright.sync_api import expect

from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in

FAILURE = "#request-failed"


def open_activity(page, base_url):
    sign_in(page, base_url, "owner@example.com")
    page.goto(f"{base_url}/stream/activity")
    expect(page.locator("#panel")).to_have_attribute("data-tab", "activity")
    page.evaluate("window.__marker = 42")
    return page.locator(".rows > li[data-row-id]").count()


def fail_with(page, pattern, status=500):
    """Answer every request matching ``pattern`` with ``status`` (a failing server)."""
    page.route(
        re.compile(pattern),
        lambda route: route.fulfill(status=status, body="Internal Server Error"),
    )


def test_a_filter_answered_500_keeps_the_url_and_rows_and_offers_try_again(page, live_server):
    rows = open_activity(page, live_server)
    assert rows
    url = page.url
    fail_with(page, r".*/stream/activity\?.*q=.*")
    page.locator(".filters input[name=q]").fill("Acme")
    page.locator(".filters input[name=q]").press("Enter")
    failure = page.locator(FAILURE)
    expect(failure).to_contain_text("The list did not update: the server failed (500)")
    expect(page).to_have_url(url)
    assert page.locator(".rows > li[data-row-id]").count() == rows
    assert "Internal Server Error" not in page.locator("#panel").inner_text()
    page.unroute(re.compile(r".*/stream/activity\?.*q=.*"))
    failure.get_by_role("button", name="Try again").click()
    expect(failure).to_have_count(0)
    expect(page).to_have_url(re.compile(r"q=Acme"))
    assert page.evaluate("window.__marker") == 42


def test_a_tab_answered_500_leaves_the_old_tab_selected_and_the_url(page, live_server):
    open_activity(page, live_server)
    url = page.url
    fail_with(page, r".*/stream/logins$")
    page.locator("#tab-logins").click()
    expect(page.locator(FAILURE)).to_contain_text("This tab did not load: the server failed (500)")
    expect(page).to_have_url(url)
    expect(page.locator("#tab-activity")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel")).to_have_attribute("data-tab", "activity")
    page.unroute(re.compile(r".*/stream/logins$"))
    page.locator(FAILURE).get_by_role("button", name="Try again").click()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "logins")
    expect(page).to_have_url(re.compile(r"/stream/logins$"))
    expect(page.locator("#tab-logins")).to_have_attribute("aria-selected", "true")
    expect(page.locator(FAILURE)).to_have_count(0)


def test_a_tab_that_cannot_be_reached_says_so(page, live_server):
    open_activity(page, live_server)
    page.route(re.compile(r".*/stream/email$"), lambda route: route.abort("connectionrefused"))
    page.locator("#tab-email").click()
    expect(page.locator(FAILURE)).to_contain_text("could not be reached")
    expect(page.locator("#panel")).to_have_attribute("data-tab", "activity")


def test_a_next_page_that_failed_is_tried_again_in_place(page, live_server):
    open_activity(page, live_server)
    fail_with(page, r".*/stream/activity/rows\?.*")
    sentinel = page.locator("#load-more")
    sentinel.scroll_into_view_if_needed()
    failure = page.locator(FAILURE)
    expect(failure).to_contain_text("The next page did not load")
    before = page.locator(".rows > li[data-row-id]").count()
    page.unroute(re.compile(r".*/stream/activity/rows\?.*"))
    failure.get_by_role("button", name="Try again").click()
    expect(page.locator(".rows > li[data-row-id]")).not_to_have_count(before)
    assert page.evaluate("window.__marker") == 42


def test_load_more_stays_in_the_list(page, live_server):
    open_activity(page, live_server)
    page.route(re.compile(r".*/stream/activity/rows\?.*"), lambda route: route.abort())
    page.locator("#load-more").scroll_into_view_if_needed()
    expect(page.locator(FAILURE)).to_be_visible()
    page.unroute(re.compile(r".*/stream/activity/rows\?.*"))
    before = page.locator(".rows > li[data-row-id]").count()
    page.locator("#load-more a").click()
    expect(page.locator(".rows > li[data-row-id]")).not_to_have_count(before)
    assert page.evaluate("window.__marker") == 42, "Load more left the page"


def test_typing_then_enter_is_one_history_entry(page, live_server):
    open_activity(page, live_server)
    start = page.evaluate("history.length")
    box = page.locator(".filters input[name=q]")
    box.press_sequentially("Acme", delay=30)
    expect(page).to_have_url(re.compile(r"q=Acme"))
    box.press("Enter")
    page.wait_for_timeout(800)
    assert page.evaluate("history.length") == start + 1


def test_a_queued_message_left_open_stays_open_while_its_row_polls(page, fresh_server):
    """No consumer runs beside this server: a message queued now stays queued, its row
    polling for its status every 2 s."""
    run_in_app(
        fresh_server,
        """
from core.db import database
from core.people import User
from plugins.email import outbox
owner = User.get(User.email == "owner@example.com")
with database.atomic():
    outbox.queue([{"kind": "task.assigned", "private": False, "sender_id": None,
                   "sender_name": "", "recipient": owner, "subject": "Queued for the poll",
                   "text_body": "Hello", "html_body": "<p>Hello</p>"}])
""",
    )
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/stream/email")
    row = page.locator("li.email-row", has_text="Queued for the poll")
    expect(row).to_have_attribute("data-status", "queued")
    row.locator("summary", has_text="See Message").click()
    expect(row.locator("details.row-detail")).to_have_attribute("open", "")
    expect(row.locator(".email-frame")).to_be_visible()
    with page.expect_response(re.compile(r"/stream/email/\d+/row\?n=")):
        pass  # a poll of the row came back meanwhile
    page.wait_for_timeout(300)
    expect(row.locator("details.row-detail")).to_have_attribute("open", "")
    expect(row.locator(".email-frame")).to_be_visible()


def test_the_new_records_banner_shows_below_the_top_bar_when_scrolled(page, fresh_server):
    open_activity(page, fresh_server)
    page.mouse.wheel(0, 3000)
    page.wait_for_timeout(200)
    run_in_app(
        fresh_server,
        """
from core.events import Ref, record_activity
record_activity(None, "task.updated", Ref("task", 1, "Banner task"))
""",
    )
    page.evaluate(
        """() => { const b = document.getElementById('new-events');
        htmx.ajax('get', b.getAttribute('hx-get'), {source: b, target: b}); }"""
    )
    link = page.locator("#new-events a")
    expect(link).to_contain_text("new event")
    box = link.bounding_box()
    top = page.locator(".topbar").bounding_box()
    assert box["y"] >= top["y"] + top["height"], (box, top)
    hit = page.evaluate(
        f"document.elementFromPoint({box['x'] + box['width'] / 2}, {box['y'] + box['height'] / 2})"
        ".closest('#new-events') !== null"
    )
    assert hit, "the banner is covered"


def test_saving_a_search_after_switching_tabs_saves_the_box(page, fresh_server):
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/stream/activity")
    page.locator("#tab-logins").click()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "logins")
    box = page.locator(".filters input[name=q]")
    box.fill("outcome:wrong_password")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"q=outcome"))
    page.locator("#logins-save-name").fill("Wrong passwords")
    page.locator(".save-search button").click()
    saved = page.locator(".saved-list a", has_text="Wrong passwords")
    expect(saved).to_have_attribute("title", "outcome:wrong_password")


def test_a_tab_clicked_on_a_slow_network_is_marked_at_once(page, live_server):
    """The page records what the tab showed while its answer was held back (the route's
    handler holds this test's thread meanwhile)."""
    open_activity(page, live_server)
    page.evaluate(
        """() => {
        window.__busyBeforeAnswer = null;
        document.body.addEventListener("htmx:beforeSwap", () => {
          if (window.__busyBeforeAnswer === null) {
            const tab = document.getElementById("tab-logins");
            window.__busyBeforeAnswer = tab.getAttribute("aria-busy");
          }
        });
    }"""
    )

    def slow(route):
        time.sleep(1.0)
        route.continue_()

    page.route(re.compile(r".*/stream/logins$"), slow)
    page.locator("#tab-logins").click()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "logins", timeout=10_000)
    assert page.evaluate("window.__busyBeforeAnswer") == "true"
    expect(page.locator("#tab-logins")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-logins")).not_to_have_attribute("aria-busy", "true")
