"""The Security page in a real browser, on a phone in dark mode: a Contact changes their password by
keyboard alone, is refused a common one (and told why), and their other browser is signed out.

The journey changes state, so it runs on a ``fresh_server`` of its own.
"""

import re

import pytest
from playwright.sync_api import expect

from core.auth.security import COMMON_MESSAGE
from tests.browser.conftest import evidence_keeping_page
from tests.browser.conftest import sign_in
from tests.browser.conftest import tab_to
from tests.browser.test_accessibility import severe_violations
from tests.conftest import PASSWORD

PHONE = {"width": 390, "height": 844}
CONTACT = "client@example.com"
NEW = "a long and fresh passphrase"


@pytest.fixture
def phone(request, browser):
    """Open a page 390 px wide in dark mode; keep a screenshot and the HTML when the test
    fails."""
    yield from evidence_keeping_page(request, browser, viewport=PHONE, color_scheme="dark")


def fill_by_keyboard(page, current, new, again):
    """Tab to the password form and type into its three fields, then press Enter."""
    tab_to(page, "input[name=current_password]")
    page.keyboard.type(current)
    page.keyboard.press("Tab")
    page.keyboard.type(new)
    page.keyboard.press("Tab")
    page.keyboard.type(again)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fits(page):
    """Tell whether the page fits its width (no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_contact_changes_their_password_by_keyboard_on_a_phone(phone, other_page, fresh_server):
    sign_in(other_page, fresh_server, CONTACT)  # the same person's other browser
    sign_in(phone, fresh_server, CONTACT)
    phone.goto(f"{fresh_server}/profile")
    phone.get_by_role("link", name="Security").click()
    expect(phone.locator("h1")).to_have_text("Security")
    expect(phone.locator("[data-sign-in-id]").first).to_be_visible()
    assert fits(phone)

    # A common password is refused, and the page says why.
    fill_by_keyboard(phone, PASSWORD, "Password123", "Password123")
    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text(COMMON_MESSAGE)
    expect(phone.locator("input[name=new_password]")).to_have_attribute("aria-invalid", "true")
    assert fits(phone)
    assert severe_violations(phone, context="main") == []

    # A good one is kept; this browser stays signed in, the other one is signed out.
    fill_by_keyboard(phone, PASSWORD, NEW, NEW)
    expect(phone.locator(".flash")).to_contain_text("Your password is changed")
    assert fits(phone)
    other_page.goto(f"{fresh_server}/profile/security")
    expect(other_page).to_have_url(re.compile(r"/login\?next="))
    sign_in(other_page, fresh_server, CONTACT, NEW)
    expect(other_page.locator("h1")).not_to_have_text("Sign in")
