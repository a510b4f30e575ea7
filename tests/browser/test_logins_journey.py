"""The Logins tab in a real browser: attempts show up with their outcomes; a lock is told as
one; Unlock works."""

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import SIGN_IN_CANARY


def unexpected(errors):
    """Return the console errors other than the 401 a refused sign-in answers with."""
    return [error for error in errors if not ("status of 401" in error and "/login]" in error)]


def outcomes_of_first_rows(page, count):
    """Return the outcome of the first ``count`` rows, newest first."""
    rows = page.locator("[data-row-id]")
    expect(rows.first).to_be_visible()
    return [rows.nth(n).get_attribute("data-outcome") for n in range(count)]


def test_a_wrong_then_a_right_password_show_on_the_logins_tab(page, fresh_server, console_errors):
    page.goto(f"{fresh_server}/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", SIGN_IN_CANARY)
    page.click("form button[type=submit]")
    expect(page.locator("p.alert")).to_contain_text("do not match")
    expect(page.locator("input[name=email]")).to_have_value("admin@example.com")  # kept
    sign_in(page, fresh_server, "admin@example.com")
    page.goto(f"{fresh_server}/stream/logins")
    assert outcomes_of_first_rows(page, 2) == ["signed_in", "wrong_password"]
    first = page.locator("[data-row-id]").first
    expect(first).to_contain_text("Avery Chen")
    expect(first).to_contain_text("after 1 failure")
    expect(first).to_contain_text("127.0.0.1 (loopback)")
    # One click from a row: that person's whole history, filtered in the URL.
    first.get_by_role("link", name="History").click()
    expect(page).to_have_url(f"{fresh_server}/stream/logins?user=2")
    expect(page.locator(".list-meta")).to_contain_text("sign-in history of Avery Chen")
    assert unexpected(console_errors) == []


def test_an_admin_unlocks_a_locked_account(page, other_page, fresh_server, console_errors):
    for _ in range(5):
        other_page.goto(f"{fresh_server}/login")
        other_page.fill("input[name=email]", "teammate@example.com")
        other_page.fill("input[name=password]", SIGN_IN_CANARY)
        other_page.click("form button[type=submit]")
        expect(other_page.locator("p.alert")).to_be_visible()
    # The lock is told as it is, and the email stays in its field for the next try.
    expect(other_page.locator("p.alert")).to_contain_text("Too many attempts for this name")
    expect(other_page.locator("input[name=email]")).to_have_value("teammate@example.com")
    sign_in(page, fresh_server, "admin@example.com")
    page.goto(f"{fresh_server}/stream/logins?outcome=account_locked")
    row = page.locator("[data-row-id]").first
    expect(row).to_have_attribute("data-outcome", "account_locked")
    expect(row).to_contain_text("Dana Scully")
    expect(row).to_contain_text("Account limit")
    row.get_by_role("button", name="Unlock account").click()
    expect(page.locator("[data-row-id]").first.get_by_role("button", name="Unlock")).to_have_count(
        0
    )
    sign_in(other_page, fresh_server, "teammate@example.com")
    expect(other_page).not_to_have_url(f"{fresh_server}/login")
    page.goto(f"{fresh_server}/stream/logins")
    assert outcomes_of_first_rows(page, 2) == ["signed_in", "unlocked"]
    expect(page.locator("[data-row-id]").nth(1)).to_contain_text("unlocked by Avery Chen")
    assert unexpected(console_errors) == []
