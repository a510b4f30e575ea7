"""Settings in a real browser: an admin's toggle reaches a second signed-in person at once.

These journeys change grants, so each runs on a ``fresh_server`` of its own.
"""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import sign_in

NOT_STAFF = {"Freelancer", "Client", "Prospect", "Lead"}


def open_settings(page, base_url):
    """Sign in as the Admin and open the Settings tab (the window marked)."""
    open_tab(page, base_url, "settings")


def assert_not_reloaded(page):
    assert page.evaluate("window.__marker") == 42, "the whole page was reloaded"


def flyout_stream_link(page):
    """Open the Flyout Menu; return its "Activity Stream" link (a locator, maybe empty)."""
    page.locator(".flyout-toggle").click()
    flyout = page.locator("#flyout")
    expect(flyout).to_be_visible()
    expect(flyout.get_by_role("link", name="Profile")).to_be_visible()
    return flyout.get_by_role("link", name="Activity Stream", exact=True)


def teammate_activity_checkbox(page):
    """Return the Teammate role's Activity checkbox in the By Role table."""
    row = page.locator('tr[data-role="Teammate"]')
    expect(row).to_have_count(1)
    checkbox = row.locator('input[data-grant^="role:"][data-grant$=":activity"]')
    expect(checkbox).to_have_count(1)
    role_id = checkbox.get_attribute("data-grant").split(":")[1]
    return page.locator(f'input[data-grant="role:{role_id}:activity"]')


def test_a_role_grant_reaches_a_signed_in_teammate_without_a_reload(
    page, other_page, fresh_server, console_errors
):
    admin, teammate = page, other_page
    teammate_errors = []
    teammate.on("console", lambda m: teammate_errors.append(m.text) if m.type == "error" else None)
    teammate.on("pageerror", lambda error: teammate_errors.append(f"uncaught: {error}"))

    # The Teammate starts with no tab: no stream link in the flyout, 403 on /stream.
    sign_in(teammate, fresh_server, "teammate@example.com")
    teammate.goto(f"{fresh_server}/profile")
    expect(flyout_stream_link(teammate)).to_have_count(0)
    assert teammate.goto(f"{fresh_server}/stream").status == 403

    # The Admin ticks the Teammate role's Activity box: saved in place, confirmed, no reload.
    open_settings(admin, fresh_server)
    checkbox = teammate_activity_checkbox(admin)
    expect(checkbox).not_to_be_checked()
    checkbox.focus()
    admin.keyboard.press("Space")
    status = admin.locator("#settings-status")
    expect(status).to_have_text("Teammate now sees Activity.")
    expect(checkbox).to_be_checked()
    expect(checkbox).to_be_focused()  # the saved control replaced itself and kept the focus
    assert_not_reloaded(admin)

    # The Teammate's next page shows the link; it leads to the Activity tab.
    teammate.goto(f"{fresh_server}/profile")
    link = flyout_stream_link(teammate)
    expect(link).to_be_visible()
    link.click()
    expect(teammate).to_have_url(f"{fresh_server}/stream/activity")
    expect(teammate.locator("#tab-activity")).to_have_attribute("aria-selected", "true")
    expect(teammate.locator("#panel")).to_have_attribute("data-tab", "activity")
    expect(teammate.locator("#panel [data-row-id]").first).to_be_visible()

    # The Admin unticks it while the Teammate's tab is open…
    checkbox.uncheck()
    expect(status).to_have_text("Teammate no longer sees Activity.")
    expect(checkbox).not_to_be_checked()
    assert_not_reloaded(admin)

    # …and the Teammate's next tab click gets the refusal in the panel, not stale rows.
    teammate.evaluate("window.__marker = 7")
    with teammate.expect_response(lambda r: r.url.endswith("/stream/activity")) as answer:
        teammate.locator("#tab-activity").click()
    assert answer.value.status == 403
    panel = teammate.locator("#panel")
    expect(panel.get_by_role("alert")).to_contain_text("You do not have access")
    expect(panel.locator("[data-row-id]")).to_have_count(0)
    expect(panel.locator(".filters")).to_have_count(0)
    # The tab bar and the title follow: the revoked tab is no longer offered.
    expect(teammate.locator("[role=tab]")).to_have_count(0)
    expect(teammate).to_have_title("You do not have access to this page")
    assert teammate.evaluate("window.__marker") == 7
    # So does the Flyout Menu: no "Activity Stream" link left in the open page.
    expect(flyout_stream_link(teammate)).to_have_count(0)
    assert console_errors == []
    # Only Chromium's and htmx's notes about the 403s themselves may reach the console.
    assert [e for e in teammate_errors if "403" not in e] == []


def test_select_all_grants_every_listed_staff_member(page, fresh_server, console_errors):
    open_settings(page, fresh_server)
    section = page.locator("#people-section")
    people = section.locator("tr[data-person]")
    expect(people.first).to_be_visible()
    emails = people.evaluate_all("rows => rows.map(r => r.getAttribute('data-person'))")
    badges = section.locator("tr[data-person] th .badge").all_inner_texts()
    assert len(emails) == len(badges) >= 5, (emails, badges)
    # Staff Members only: no Freelancer or Contact, and not the Super Admin (always sees all).
    assert not NOT_STAFF & set(badges), badges
    assert "Super Admin" not in badges
    for email in ("freelancer@example.com", "client@example.com", "owner@example.com"):
        assert email not in emails

    boxes = section.locator('input[data-grant^="user:"][data-grant$=":activity"]')
    expect(boxes).to_have_count(len(emails))
    already = sum(box.is_checked() for box in boxes.all())
    assert already < len(emails), "every Staff Member already had the tab"

    select_all = section.locator('button[data-bulk="select-all:activity"]')
    select_all.click()
    expect(page.locator("#settings-status")).to_have_text(
        f"Activity granted to {len(emails) - already} more Staff Member(s)."
    )
    boxes = page.locator('#people-section input[data-grant^="user:"][data-grant$=":activity"]')
    expect(boxes).to_have_count(len(emails))
    for box in boxes.all():
        expect(box).to_be_checked()
    expect(select_all).to_be_focused()
    # The other tabs' boxes (Email, Logins) were left alone.
    others = page.locator(
        '#people-section input[data-grant^="user:"]:not([data-grant$=":activity"])'
    )
    assert others.count() >= len(emails), "no other tab's boxes to compare with"
    assert not any(box.is_checked() for box in others.all())
    assert_not_reloaded(page)

    # Saved: a reload shows the same.
    page.reload()
    reloaded = page.locator('#people-section input[data-grant^="user:"][data-grant$=":activity"]')
    expect(reloaded).to_have_count(len(emails))
    for box in reloaded.all():
        expect(box).to_be_checked()
    assert console_errors == []


def test_a_save_that_fails_shows_the_real_state_the_reason_and_a_retry(
    page, fresh_server, console_errors
):
    open_settings(page, fresh_server)
    checkbox = teammate_activity_checkbox(page)
    status = page.locator("#settings-status")

    # The network is down: the box goes back to what is saved, and says so.
    page.route("**/stream/settings/grant", lambda route: route.abort())
    checkbox.click()  # not check(): the box may already be back when it would look
    expect(status).to_contain_text("Not saved: the server could not be reached.")
    expect(status).to_have_class(re.compile(r"\bfailed\b"))  # not the green of a success
    expect(checkbox).not_to_be_checked()
    retry = status.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()

    # Back up: trying again saves it.
    page.unroute("**/stream/settings/grant")
    retry.click()
    expect(status).to_contain_text("Teammate now sees Activity.")
    expect(status).not_to_have_class(re.compile(r"\bfailed\b"))
    expect(teammate_activity_checkbox(page)).to_be_checked()

    # The server refuses (an expired form): the reason is shown, the box keeps its state.
    page.evaluate("""document.body.setAttribute("hx-headers", '{"X-CSRF-Token": "expired"}')""")
    teammate_activity_checkbox(page).click()
    expect(status).to_contain_text("This form has expired or did not come from this site")
    expect(status).to_have_class(re.compile(r"\bfailed\b"))
    expect(teammate_activity_checkbox(page)).to_be_checked()
    assert_not_reloaded(page)


def test_clear_asks_first_then_undo_gives_the_grants_back(page, fresh_server):
    open_settings(page, fresh_server)
    section = page.locator("#people-section")
    page.locator('button[data-bulk="select-all:activity"]').click()
    expect(page.locator("#settings-status")).to_contain_text("more Staff Member(s)")
    boxes = section.locator('input[data-grant^="user:"][data-grant$=":activity"]')
    held = boxes.count()

    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: "no" changes nothing
    page.locator('button[data-bulk="clear:activity"]').click()
    expect(boxes.first).to_be_checked()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator('button[data-bulk="clear:activity"]').click()
    expect(page.locator("#settings-status")).to_contain_text(f"revoked from {held} Staff")
    expect(section.locator('input[data-grant$=":activity"]:checked')).to_have_count(0)
    page.locator("#undo-clear").click()
    expect(page.locator("#settings-status")).to_contain_text(f"granted again to {held} Staff")
    expect(
        section.locator('input[data-grant^="user:"][data-grant$=":activity"]:checked')
    ).to_have_count(held)
