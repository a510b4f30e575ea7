"""Compact rows, in real Chromium: a reader who switches to compact sees at least 18 records on
the first 1366×900 screen, the filter card folded to the search box; the choice is the
viewer's own and survives a reload; the card opens and closes from the keyboard; a phone never
scrolls sideways; a failed save says so and changes nothing."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def rows_on_first_screen(page):
    """Count the list's records drawn entirely inside the window, without scrolling."""
    return page.evaluate(
        """() => [...document.querySelectorAll('ol.rows > li[data-row-id]')].filter(li => {
             const box = li.getBoundingClientRect();
             return box.top >= 0 && box.bottom <= innerHeight; }).length"""
    )


def choose(page, density):
    """Press the density switch's button and wait until the page shows it."""
    page.locator("form.density").get_by_role("button", name=density).click()
    expect(page.locator(".stream")).to_have_attribute("data-density", density.lower())


def test_compact_rows_show_at_least_18_records_on_the_first_screen(browser, fresh_server):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, fresh_server, "owner@example.com")
    for tab in ("activity", "email", "logins"):
        page.goto(f"{fresh_server}/stream/{tab}")
        expect(page.locator(".stream")).to_have_attribute("data-density", "comfortable")
        assert rows_on_first_screen(page) < 10, tab
    choose(page, "Compact")
    for tab in ("activity", "email", "logins"):
        page.goto(f"{fresh_server}/stream/{tab}")
        expect(page.locator(".stream")).to_have_attribute("data-density", "compact")
        assert rows_on_first_screen(page) >= 18, tab
        # Each record is one line: no row is taller than two lines of text.
        heights = page.eval_on_selector_all(
            "ol.rows > li[data-row-id]", "rows => rows.map(row => row.offsetHeight)"
        )
        assert max(heights) <= 40, (tab, max(heights))
    context.close()


def test_the_choice_is_the_viewers_own_and_survives_a_reload(browser, fresh_server):
    owner = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(owner, fresh_server, "owner@example.com")
    owner.goto(f"{fresh_server}/stream/activity")
    choose(owner, "Compact")
    expect(owner.locator("form.density button[value=compact]")).to_have_attribute(
        "aria-pressed", "true"
    )
    owner.reload()
    expect(owner.locator(".stream")).to_have_attribute("data-density", "compact")
    admin = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(admin, fresh_server, "admin@example.com")
    admin.goto(f"{fresh_server}/stream/activity")
    expect(admin.locator(".stream")).to_have_attribute("data-density", "comfortable")
    choose(owner, "Comfortable")
    owner.reload()
    expect(owner.locator(".stream")).to_have_attribute("data-density", "comfortable")
    expect(owner.locator("details.more-filters")).to_have_attribute("open", "")
    owner.context.close()
    admin.context.close()


def test_the_filter_card_folds_in_compact_rows_and_opens_from_the_keyboard(browser, fresh_server):
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/stream/activity")
    person = page.locator("#activity-actor")
    expect(person).to_be_visible()
    choose(page, "Compact")
    expect(person).to_be_hidden()
    expect(page.locator(".save-search")).to_be_hidden()
    page.reload()
    expect(person).to_be_hidden()
    page.locator(".filters input[name=q]").focus()
    page.keyboard.press("Tab")
    expect(page.locator("details.more-filters > summary")).to_be_focused()
    page.keyboard.press("Enter")
    expect(person).to_be_visible()
    expect(page.locator(".save-search")).to_be_visible()
    # A control in use keeps the card open on the next page drawn.
    person.select_option(index=1)
    expect(page).to_have_url(re.compile(r"actor"))
    page.reload()
    expect(person).to_be_visible()
    page.context.close()


def test_a_phone_in_compact_rows_never_scrolls_sideways(browser, fresh_server):
    page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    sign_in(page, fresh_server, "owner@example.com")
    comfortable = {}
    for tab in ("activity", "email", "logins"):
        page.goto(f"{fresh_server}/stream/{tab}")
        comfortable[tab] = rows_on_first_screen(page)
    choose(page, "Compact")
    for tab in ("activity", "email", "logins"):
        page.goto(f"{fresh_server}/stream/{tab}")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], tab
        # Denser: at least two records more than comfortable rows show.
        assert rows_on_first_screen(page) >= comfortable[tab] + 2, (tab, comfortable)
    page.context.close()


def test_a_failed_save_says_so_and_changes_nothing(browser, fresh_server):
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/stream/activity")
    page.route(re.compile(r".*/profile/density$"), lambda route: route.fulfill(status=500))
    page.locator("form.density").get_by_role("button", name="Compact").click()
    expect(page.locator(".density-status")).to_contain_text("Not saved")
    expect(page.locator(".stream")).to_have_attribute("data-density", "comfortable")
    page.context.close()
