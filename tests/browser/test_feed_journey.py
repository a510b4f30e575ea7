"""The list machinery every tab shares, used as a new user would: on a slow network, with a
bad filter, on a phone, to the end of the list. Run on every list tab where it applies."""

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in

LIST_TABS = ("activity", "email", "logins")


def open_list(page, base_url, tab):
    """Sign in as the owner (who sees every tab) and open ``tab``, the window marked."""
    sign_in(page, base_url, "owner@example.com")
    page.goto(f"{base_url}/stream/{tab}")
    expect(page.locator("#panel")).to_have_attribute("data-tab", tab)
    page.evaluate("window.__marker = 42")


def slow_down(page, seconds):
    """Delay every answer of the server by ``seconds`` (a slow network). The handler holds
    this test's thread meanwhile: what the page does in that time is recorded by the page
    itself (``watch``) and read afterwards."""

    def delayed(route):
        time.sleep(seconds)
        route.continue_()

    page.route(re.compile(r".*/stream/.*"), delayed)


@pytest.mark.parametrize("tab", LIST_TABS)
def test_typing_in_search_on_a_slow_network_loses_no_character(page, live_server, tab):
    open_list(page, live_server, tab)
    slow_down(page, 0.3)
    search = page.locator(".filters input[name=q]")
    search.click()
    search.press_sequentially("Acme Corp zz", delay=120)  # answers arrive mid-typing
    expect(page).to_have_url(re.compile(r"q=Acme(%20|\+)Corp(%20|\+)zz"), timeout=10_000)
    expect(search).to_have_value("Acme Corp zz")
    expect(search).to_be_focused()
    assert page.evaluate("window.__marker") == 42


WATCH = """() => {
  window.__seen = [];
  const look = () => {
    const panel = document.getElementById("panel");
    const results = document.getElementById("feed-results");
    window.__seen.push({
      path: location.pathname, tab: panel && panel.dataset.tab,
      stale: document.documentElement.classList.contains("stale"),
      busy: !!results && results.getAttribute("aria-busy") === "true",
      loading: document.documentElement.classList.contains("loading"),
    });
  };
  new MutationObserver(look).observe(document.documentElement,
    {attributes: true, childList: true, subtree: true});
  window.addEventListener("popstate", look);
}"""


def watch(page):
    """Make the page record its state on every change (read back with ``seen``)."""
    page.evaluate(WATCH)


def seen(page):
    """Return the states the page went through since ``watch``."""
    return page.evaluate("window.__seen")


def test_progress_shows_while_a_filter_loads(page, live_server):
    open_list(page, live_server, "activity")
    watch(page)
    slow_down(page, 2)
    page.locator(".filters select[name=action]").select_option(index=1)
    expect(page).to_have_url(re.compile(r"action="), timeout=8_000)
    expect(page.locator("#feed-results")).not_to_have_attribute("aria-busy", "true")
    states = seen(page)
    assert any(state["busy"] and state["loading"] for state in states), states[:5]
    assert not page.locator("html.loading").count()


def test_back_never_shows_a_tab_under_another_tabs_url(page, live_server):
    open_list(page, live_server, "activity")
    page.locator("#tab-logins").click()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "logins")
    page.locator("#tab-email").click()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "email")
    watch(page)
    slow_down(page, 1.5)
    page.go_back()
    expect(page.locator("#panel")).to_have_attribute("data-tab", "logins", timeout=8_000)
    # Until the Logins page arrived, the Email rows were hidden, never shown under its URL.
    under_wrong_url = [
        s for s in seen(page) if s["path"] == "/stream/logins" and s["tab"] == "email"
    ]
    assert under_wrong_url, "the page was never seen between the two tabs"
    assert all(state["stale"] for state in under_wrong_url), under_wrong_url
    # Once the page for the URL is there, it shows, and the progress bar stops.
    expect(page.locator("html")).not_to_have_class(re.compile(r"\b(stale|loading)\b"))
    expect(page.locator("#panel > *").first).to_be_visible()


def test_a_start_after_the_end_keeps_the_bar_and_the_rows(page, live_server):
    open_list(page, live_server, "activity")
    rows = page.locator("[data-row-id]").count()
    page.locator(".filters input[name=to]").fill("2026-02-01")
    page.locator(".filters input[name=from]").fill("2026-02-02")
    expect(page.locator("#feed-filter-error")).to_contain_text("the start date is after the end")
    expect(page.locator(".filters")).to_be_visible()
    expect(page.locator("[data-row-id]")).to_have_count(rows)
    assert "from=2026-02-02" not in page.url  # the refused URL was not pushed


@pytest.mark.parametrize("tab", LIST_TABS)
def test_times_name_their_zone_and_show_utc_on_hover(page, live_server, tab):
    open_list(page, live_server, tab)
    first = page.locator("[data-row-id] time").first
    # The owner's zone is Europe/London: GMT or BST, named.
    expect(first).to_have_text(re.compile(r"\d{2}:\d{2}:\d{2} (GMT|BST)$"))
    expect(first).to_have_attribute("title", re.compile(r"UTC$"))
    expect(page.locator(".list-meta .zone")).to_have_text("Times in Europe/London")


def test_the_end_of_the_list_says_so(page, live_server):
    open_list(page, live_server, "logins")
    page.locator(".filters select[name=outcome]").select_option("unlocked")
    expect(page.locator("li.list-end")).to_have_text("That is the whole list.")


def test_on_a_phone_the_filters_fold_and_the_first_row_is_on_the_first_screen(browser, live_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        open_list(page, live_server, "activity")
        fold = page.locator(".filters details.more-filters")
        expect(fold).not_to_have_attribute("open", "")
        expect(page.locator(".filters select[name=action]")).to_be_hidden()
        box = page.locator("[data-row-id]").first.bounding_box()
        assert box["y"] + 40 < 844, box
        fold.locator("summary").click()
        expect(page.locator(".filters select[name=action]")).to_be_visible()
    finally:
        context.close()
