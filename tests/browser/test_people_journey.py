"""Manage Teams in a real browser: a new team's grant reaches a member's open page on their
next click, and leaving the team takes it away. Runs on a ``fresh_server`` of its own."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def flyout_link(page, label):
    """Open the Flyout Menu; return its link named ``label`` (a locator, maybe empty)."""
    page.locator(".flyout-toggle").click()
    flyout = page.locator("#flyout")
    expect(flyout).to_be_visible()
    expect(flyout.get_by_role("link", name="Profile")).to_be_visible()
    return flyout.get_by_role("link", name=label, exact=True)


def close_flyout(page):
    page.keyboard.press("Escape")
    expect(page.locator("#flyout")).not_to_be_visible()


def next_click(page):
    """Click the workspace's Tasks link (a boosted link: the page is swapped, not reloaded) and
    wait until the new page has replaced the old one and settled.

    The page on screen is Tasks already, so its heading proves nothing: returning on it, a test
    could open the Flyout Menu before the swap lands, and the swap would then close it. So the
    heading on screen is marked, and the wait is for the answer to the htmx request and for an
    unmarked heading (the swapped-in page), then for htmx to finish settling it."""
    page.locator("h1").evaluate("heading => heading.setAttribute('data-before-click', '')")
    with page.expect_response(
        lambda response: (
            response.url.endswith("/workspace/tasks")
            and response.request.headers.get("hx-request") == "true"
        )
    ):
        page.locator(".workspace-nav").get_by_role("link", name="Tasks").click()
    expect(page.locator("h1:not([data-before-click])")).to_have_text("Tasks")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bhtmx-(swapping|settling)\b"))


def test_a_team_grant_reaches_a_member_on_their_next_click_and_leaves_with_them(
    page, other_page, fresh_server, console_errors
):
    admin, dana = page, other_page

    # Dana, a Teammate, has the workspace open; nothing grants her a tab yet.
    sign_in(dana, fresh_server, "teammate@example.com")
    dana.goto(f"{fresh_server}/workspace/tasks")
    expect(flyout_link(dana, "Activity Stream")).to_have_count(0)
    expect(dana.locator("#flyout").get_by_role("link", name="Manage Teams")).to_have_count(0)
    close_flyout(dana)
    dana.evaluate("window.__marker = 1")

    # The Admin opens Manage Teams from the Flyout Menu and creates a team.
    sign_in(admin, fresh_server, "admin@example.com")
    admin.goto(f"{fresh_server}/profile")
    flyout_link(admin, "Manage Teams").click()
    expect(admin.locator("h1")).to_have_text("Manage Teams")
    form = admin.locator("#new-team")
    form.get_by_label("Name").fill("Night Shift")
    form.get_by_label("Description").fill("Covers the evenings.")
    form.get_by_role("button", name="Create team").click()
    expect(admin.locator("h1")).to_have_text("Team “Night Shift”")
    expect(admin.locator(".flash")).to_contain_text("Team “Night Shift” created.")

    # …adds Dana with the keyboard: the box saves itself, nothing reloads.
    admin.evaluate("window.__marker = 2")
    box = admin.locator('tr[data-person="teammate@example.com"] input[type=checkbox]')
    expect(box).not_to_be_checked()
    box.focus()
    admin.keyboard.press("Space")
    expect(admin.locator("#settings-status")).to_have_text("Dana Scully joined Night Shift.")
    expect(box).to_be_checked()
    expect(box).to_be_focused()
    expect(admin.locator("#member-count")).to_have_text("1 member")
    assert admin.evaluate("window.__marker") == 2

    # …and grants the team the Activity tab in Settings.
    admin.goto(f"{fresh_server}/stream/settings")
    row = admin.locator('tr[data-team="Night Shift"]')
    grant = row.locator('input[data-grant$=":activity"]')
    grant.check()
    expect(admin.locator("#settings-status")).to_have_text("Night Shift now sees Activity.")

    # Dana's next click brings the Flyout link, without a reload; it opens her Activity tab.
    next_click(dana)
    assert dana.evaluate("window.__marker") == 1
    link = flyout_link(dana, "Activity Stream")
    expect(link).to_be_visible()
    link.click()
    expect(dana).to_have_url(f"{fresh_server}/stream/activity")
    expect(dana.locator("#panel")).to_have_attribute("data-tab", "activity")
    dana.go_back()
    expect(dana.locator("h1")).to_have_text("Tasks")
    dana.evaluate("window.__marker = 3")

    # The Admin takes Dana out of the team…
    admin.goto(f"{fresh_server}/teams")
    admin.locator('tr[data-team="Night Shift"]').get_by_role("link").click()
    box = admin.locator('tr[data-person="teammate@example.com"] input[type=checkbox]')
    box.uncheck()
    expect(admin.locator("#settings-status")).to_have_text("Dana Scully left Night Shift.")
    expect(admin.locator("#member-count")).to_have_text("0 members")

    # …and Dana's next click takes the link away; the tab itself now refuses her.
    next_click(dana)
    assert dana.evaluate("window.__marker") == 3
    expect(flyout_link(dana, "Activity Stream")).to_have_count(0)
    assert dana.goto(f"{fresh_server}/stream/activity").status == 403
    assert console_errors == []
