"""Edges a demanding reader finds, in Chromium: the Logins tab in words (no internal names, no
"retry after N s", macOS, a lock's end in the row's zone), the Email filter bar's fields each
named apart, Settings on a phone without sideways scrolling, and each Staff Member's access in
effect shown beside their personal grant."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import sign_in
from tests.conftest import SIGN_IN_CANARY

PHONE = {"width": 390, "height": 844}


def test_the_logins_tab_reads_in_words(page, live_server):
    open_tab(page, live_server, "logins")
    rows = page.locator("#feed-results")
    expect(rows.locator("[data-row-id]").first).to_be_visible()
    # The demo's Mac users: recorded, and shown, as people name their system.
    page.goto(f"{live_server}/stream/logins?q=safari")
    expect(rows).to_contain_text("Safari 17 on macOS 14")
    expect(rows).not_to_contain_text("Mac OS X")
    # The Teammate's refused attempts: the wait they were told, in minutes.
    page.goto(f"{live_server}/stream/logins?outcome=locked")
    expect(rows).to_contain_text("told to try again in 14 minutes")
    expect(rows).not_to_contain_text(re.compile(r"retry after \d+ s"))
    body = page.locator("body")
    expect(body).not_to_contain_text(re.compile(r"\blogin\.\w+|new_client"))


def test_a_lock_ends_in_the_zone_the_row_is_shown_in(page, other_page, fresh_server):
    for _ in range(6):  # five wrong passwords lock the name; the sixth is refused by the lock
        other_page.goto(f"{fresh_server}/login")
        other_page.fill("input[name=email]", "pm@example.com")
        other_page.fill("input[name=password]", SIGN_IN_CANARY)
        other_page.click("form button[type=submit]")
        expect(other_page.locator("p.alert")).to_be_visible()
    expect(other_page.locator("p.alert")).to_contain_text("Too many attempts for this name")
    sign_in(page, fresh_server, "admin@example.com")  # Avery Chen reads America/New_York
    page.goto(f"{fresh_server}/stream/logins?outcome=account_locked")
    row = page.locator("[data-row-id]").first
    expect(row).to_have_attribute("data-outcome", "account_locked")
    shown = row.locator("time").inner_text()  # "2026-12-04 22:41:59 EST"
    zone = shown.rsplit(" ", 1)[1]
    assert zone in ("EST", "EDT"), shown
    where = row.locator(".login-where")
    expect(where).to_contain_text(re.compile(rf"until \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d {zone}\b"))
    expect(where).not_to_contain_text("UTC")
    row.get_by_text("Details").click()
    expect(row.locator(".detail")).to_contain_text(re.compile(rf"until [\d: -]+ {zone}\b"))
    page.goto(f"{fresh_server}/stream/logins?outcome=locked")
    refused = page.locator("[data-row-id]").first
    expect(refused).to_contain_text(re.compile(r"told to try again in 1[45] minutes"))
    expect(refused).not_to_contain_text("retry after")


def test_the_new_browser_notice_is_named_in_words_on_the_email_tab(page, live_server):
    open_tab(page, live_server, "email")
    page.goto(f"{live_server}/stream/email?kind=login.new_client")
    row = page.locator("[data-row-id]").first
    expect(row).to_contain_text("New browser or country")
    expect(page.locator("#email-kind option:checked")).to_have_text("New browser or country")
    row.get_by_text("See Message").click()
    expect(row.locator(".detail-slot")).to_contain_text("New browser or country")
    expect(page.locator("#panel")).not_to_contain_text(
        re.compile("login new client", re.IGNORECASE)
    )


def test_each_email_filter_has_a_name_of_its_own(page, live_server):
    open_tab(page, live_server, "email")
    bar = page.locator("form.filters")
    page.locator(".more-filters > summary").evaluate("s => s.parentElement.open = true")
    for name in ("Sender", "Recipient", "Kind", "Status"):
        expect(bar.get_by_role("combobox", name=name, exact=True)).to_have_count(1)
    expect(bar.get_by_label("From date", exact=True)).to_have_attribute("type", "date")
    expect(bar.get_by_label("To date", exact=True)).to_have_attribute("type", "date")
    for ambiguous in ("From", "To"):
        expect(bar.get_by_label(ambiguous, exact=True)).to_have_count(0)
    names = bar.locator("input:not([type=hidden]), select").evaluate_all(
        "els => els.map(el => (el.labels[0] || {}).textContent || el.getAttribute('aria-label'))"
    )
    names = [" ".join(name.split()) for name in names]
    assert len(names) == len(set(names)), names
    # The date still filters as before, through the box.
    bar.get_by_label("From date", exact=True).fill("2026-01-01")
    bar.get_by_label("From date", exact=True).dispatch_event("change")
    expect(page.locator("#email-q")).to_have_value("created:>=2026-01-01")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_settings_fit_a_phone(browser, live_server, scheme):
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        open_tab(page, live_server, "settings", email="owner@example.com")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page scrolls sideways: {width} px wide"
        # A grid wider than the screen scrolls in its own box, and says so.
        boxes = page.locator(".grid-scroll")
        expect(boxes).to_have_count(3)
        people = page.locator("#people-section .grid-scroll")
        assert people.evaluate("b => b.scrollWidth > b.clientWidth")
        expect(page.locator("#people-section .scroll-hint")).to_be_visible()
        # Its first column stays in sight while the rest scrolls under it.
        name = people.locator("tr[data-person='admin@example.com'] th")
        before = name.bounding_box()["x"]
        people.evaluate("b => { b.scrollLeft = 200 }")
        page.wait_for_timeout(100)
        assert abs(name.bounding_box()["x"] - before) < 1
        background = name.evaluate("th => getComputedStyle(th).backgroundColor")
        assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # cells pass under it
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        context.close()


def test_an_admin_shows_the_access_her_role_gives(page, live_server):
    open_tab(page, live_server, "settings", email="owner@example.com")
    avery = page.locator("#people-section tr[data-person='admin@example.com']")
    for tab in ("activity", "email", "logins"):
        box = avery.locator(f"input[data-grant$=':{tab}']")
        expect(box).not_to_be_checked()  # she holds no personal grant...
        cell = avery.locator("td").filter(has=page.locator(f"input[data-grant$=':{tab}']"))
        expect(cell.locator(".access-via")).to_have_text(
            re.compile(r"^\s*Avery Chen sees \w+ via role Admin\s*$")
        )  # ...and sees it through her role, which the marker says, also to screen readers
        expect(cell.locator(".access-via")).to_be_visible()
    dana = page.locator("#people-section tr[data-person='teammate@example.com']")
    expect(dana.locator(".access-via")).to_have_count(0)
    expect(dana.locator(".access").first).to_have_text("Dana Scully does not see Activity")


def test_a_team_grant_shows_on_its_members_at_once(page, fresh_server, console_errors):
    open_tab(page, fresh_server, "settings")
    dana = page.locator("#people-section tr[data-person='teammate@example.com']")
    email_cell = dana.locator("td").filter(has=page.locator("input[data-grant$=':email']"))
    expect(email_cell.locator(".access-via")).to_have_count(0)
    delivery = page.locator("#by-team ~ .grid-scroll tr[data-team='Delivery']")
    delivery.locator("input[data-grant$=':email']").check()
    expect(page.locator("#settings-status")).to_contain_text("Delivery now sees Email.")
    expect(email_cell.locator(".access-via")).to_contain_text("via team Delivery")
    assert page.evaluate("window.__marker") == 42  # no reload
    # A personal grant to someone who sees it already says so.
    box = dana.locator("input[data-grant$=':email']")
    box.check()
    expect(page.locator("#settings-status")).to_contain_text(
        "Dana Scully now holds Email in person (also seen via team Delivery)."
    )
    expect(box).to_be_checked()
    expect(email_cell.locator(".access-via")).to_contain_text("via team Delivery")
    assert console_errors == []
