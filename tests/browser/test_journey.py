"""The first journey: Flyout Menu, tab switching without a reload, back button, reload."""

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def path_of(page):
    """Return the path of the page's current URL."""
    return urlsplit(page.url).path


def tab_names(page):
    """Return the names of the tabs in the tab bar, in order, read from their links."""
    hrefs = page.locator("[role=tab]").evaluate_all("tabs => tabs.map(t => t.getAttribute('href'))")
    return [href.rstrip("/").rsplit("/", 1)[-1] for href in hrefs]


def expect_tab_shown(page, base_url, name):
    """Check that the URL, the panel and the tab bar all show the tab ``name``."""
    expect(page).to_have_url(f"{base_url}/stream/{name}")
    expect(page.locator("#panel")).to_have_attribute("data-tab", name)
    expect(page.locator("[role=tab][aria-selected=true]")).to_have_count(1)
    selected = page.locator(f"#tab-{name}")
    expect(selected).to_have_attribute("aria-selected", "true")
    expect(page).to_have_title(f"{selected.inner_text().strip()} · Activity Stream")


def test_admin_switches_tabs_without_reloading(page, live_server, console_errors):
    sign_in(page, live_server, "admin@example.com")
    flyout = page.locator("#flyout")
    toggle = page.locator(".flyout-toggle")

    # The Flyout Menu opens from the toggle, offers the stream, and closes on Escape.
    toggle.click()
    expect(flyout).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    stream_link = flyout.get_by_role("link", name="Activity Stream", exact=True)
    expect(stream_link).to_be_visible()
    page.keyboard.press("Escape")
    expect(flyout).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    # A click outside closes it too: on the page's title, which does nothing else (a click on
    # a chart bar or a row's link would also load a panel, and that panel closes the menu
    # whenever it arrives).
    toggle.click()
    expect(flyout).to_be_visible()
    page.locator(".stream-title").click()
    expect(flyout).to_be_hidden()

    toggle.click()
    stream_link.click()
    expect(page).to_have_url(re.compile(r"/stream/[a-z][a-z0-9_-]*$"))
    names = tab_names(page)
    first = names[0]
    expect_tab_shown(page, live_server, first)
    assert "settings" in names, names
    assert len(names) >= 2, f"an admin should see at least two tabs, not {names}"
    other = names[-1] if names[-1] != first else names[1]

    # Switching tabs swaps the panel in place: same window, new URL, new panel, new selection.
    page.evaluate("window.__marker = 42")
    page.locator(f"#tab-{other}").click()
    expect_tab_shown(page, live_server, other)
    expect(page.locator(f"#tab-{first}")).to_have_attribute("aria-selected", "false")
    assert page.evaluate("window.__marker") == 42, "switching tabs reloaded the whole page"

    # Back restores the previous tab's URL and panel.
    page.go_back()
    expect_tab_shown(page, live_server, first)
    expect(page.locator(f"#tab-{other}")).to_have_attribute("aria-selected", "false")

    # Forward again, then a reload renders the current tab as a full page.
    page.go_forward()
    expect_tab_shown(page, live_server, other)
    page.reload()
    assert page.evaluate("window.__marker") is None, "the reload did not load a new page"
    expect_tab_shown(page, live_server, other)
    expect(page.locator("#flyout")).to_have_count(1)
    expect(page.locator("#stream-tabs [role=tablist]")).to_be_visible()

    assert console_errors == []


def test_client_has_no_stream_link_and_gets_403(page, live_server, console_errors):
    sign_in(page, live_server, "client@example.com")
    assert path_of(page) != "/login", "the Client could not sign in"
    page.locator(".flyout-toggle").click()
    flyout = page.locator("#flyout")
    expect(flyout).to_be_visible()
    expect(flyout.get_by_role("link", name="Profile")).to_be_visible()
    expect(flyout.get_by_role("link", name="Activity Stream")).to_have_count(0)

    response = page.goto(f"{live_server}/stream")
    assert response.status == 403
    expect(page.locator(".error-code")).to_have_text("403")
    expect(page.locator("#panel")).to_have_count(0)
    expect(page.locator("[role=tab]")).to_have_count(0)
    # The only console error allowed is Chromium's note about the 403 itself.
    assert [e for e in console_errors if "403" not in e] == []


def test_an_open_menu_stays_open_while_the_new_events_banner_polls(
    page, live_server, console_errors
):
    """The banner refreshes itself every 15 s; a menu opened meanwhile stays open (a swap of
    the panel, a new tab, is what closes it)."""
    sign_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/stream/activity")
    banner = page.locator("#new-events")
    expect(banner).to_have_count(1)
    page.locator(".flyout-toggle").click()
    flyout = page.locator("#flyout")
    expect(flyout).to_be_visible()
    # One poll now, as its 15 s trigger would make it.
    page.evaluate(
        """() => new Promise(done => {
             const banner = document.getElementById("new-events");
             document.addEventListener("htmx:afterSwap", () => done(), { once: true });
             htmx.ajax("GET", banner.getAttribute("hx-get"), { target: banner, swap: "outerHTML" });
           })"""
    )
    expect(flyout).to_be_visible()
    expect(page.locator(".flyout-toggle")).to_have_attribute("aria-expanded", "true")
    # A new panel closes it.
    page.keyboard.press("Escape")
    page.locator(".flyout-toggle").click()
    expect(flyout).to_be_visible()
    page.evaluate("htmx.ajax('GET', '/stream/logins', {target: '#panel', swap: 'outerHTML'})")
    expect(flyout).to_be_hidden()
    assert console_errors == []
