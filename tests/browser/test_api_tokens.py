"""API tokens in Settings, in a real browser on a phone in dark mode, by keyboard alone: make a
token, copy it, see it work, revoke it and see it refused.

The journey changes state, so it runs on a ``fresh_server`` of its own.
"""

import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import evidence_keeping_page
from tests.browser.conftest import sign_in
from tests.browser.conftest import tab_to

PHONE = {"width": 390, "height": 844}
TOKEN = re.compile(r"^ast_[A-Za-z0-9_-]{43}$")


@pytest.fixture
def phone(request, browser, fresh_server):
    """Open a page 390 px wide in dark mode, allowed to use the clipboard; keep a screenshot
    and the HTML in test-artifacts/ when the test fails."""
    yield from evidence_keeping_page(
        request,
        browser,
        permissions={fresh_server: ["clipboard-read", "clipboard-write"]},
        viewport=PHONE,
        color_scheme="dark",
        has_touch=False,
    )


def api_status(base_url, token):
    """Return the status of ``GET /api/v1/`` sent with ``token``, over real HTTP."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_make_copy_and_revoke_a_token_by_keyboard_on_a_phone_in_dark_mode(phone, fresh_server):
    page = phone
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    sign_in(page, fresh_server, "admin@example.com")
    page.goto(f"{fresh_server}/stream/settings")
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")

    # The contents at the top lead to the section; from there Tab reaches the form.
    tab_to(page, 'a[href="#api"]')
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#api$"))
    tab_to(page, "#token-name", limit=5)
    page.keyboard.type("Phone check")
    page.keyboard.press("Tab")
    expect(page.locator('input[name=scope][value="events:write"]')).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.locator("#token-days")).to_be_focused()
    page.keyboard.type("30")
    page.keyboard.press("Enter")  # submits the form

    # Shown once, the Copy button focused; Enter copies it.
    copy = page.locator("#copy-new-token")
    expect(copy).to_be_focused()
    expect(page.locator(".token-created")).to_contain_text("you will not see it again")
    shown = page.locator("#new-token").input_value()
    assert TOKEN.match(shown)
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == shown
    assert api_status(fresh_server, shown) == 200

    # On a phone the section fits the screen: no sideways scrolling, a dark surface.
    section = page.locator("#api-tokens")
    box = section.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert section.evaluate("(e) => e.scrollWidth <= e.clientWidth")
    background = page.locator(".token-created").evaluate(
        "(e) => getComputedStyle(e).backgroundColor"
    )
    red, green, blue = map(int, re.findall(r"\d+", background)[:3])
    assert red + green + blue < 3 * 90, f"the new token's box is light in dark mode: {background}"

    # Revoke it: Tab to its button, Enter, confirm; the focus stays where the button was.
    token_id = page.locator(".token-created").get_attribute("data-new-token-id")
    row = page.locator(f'tr[data-token-id="{token_id}"]')
    expect(row).to_have_attribute("data-status", "active")
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to(page, f"#revoke-token-{token_id}")
    page.keyboard.press("Enter")
    expect(row).to_have_attribute("data-status", "revoked")
    expect(page.locator("#settings-status")).to_contain_text("is revoked")
    expect(page.locator(f"#revoke-token-{token_id}")).to_be_focused()
    expect(page.locator("#new-token")).to_have_count(0)  # shown once: gone with the swap
    assert api_status(fresh_server, shown) == 401

    # A reload shows the list, never the token.
    page.reload()
    assert shown not in page.content()
    expect(page.locator(f'tr[data-token-id="{token_id}"]')).to_have_attribute(
        "data-status", "revoked"
    )
    assert errors == []
