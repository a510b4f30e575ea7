"""An automated accessibility audit (axe-core, in the real Chromium) of every tab, a detail
view, Settings and Preview, in the light and the dark theme: no serious or critical issue."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TOP_ROW
from tests.browser.conftest import sign_in

SEVERE = {"serious", "critical"}
TABS = ("activity", "settings")  # every tab the owner sees is audited below


def severe_violations(page, context=None):
    """Run axe-core on ``page`` (or only the part ``context`` selects); return its serious
    and critical violations, readably."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, context=context).response["violations"]
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in found
        if violation["impact"] in SEVERE
    ]


@pytest.fixture(params=["light", "dark"])
def themed_page(request, browser):
    """A page in a new context with the light or the dark color scheme."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, color_scheme=request.param
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_every_tab_and_view_passes_the_audit(themed_page, live_server):
    page = themed_page
    sign_in(page, live_server, "owner@example.com")
    problems = {}
    names = page.locator("#stream-tabs [role=tab]").evaluate_all(
        "tabs => tabs.map(tab => tab.id.replace('tab-', ''))"
    )
    assert set(TABS) <= set(names), names
    for tab in names:
        page.goto(f"{live_server}/stream/{tab}")
        expect(page.locator("#panel")).to_have_attribute("data-tab", tab)
        problems[tab] = severe_violations(page)
    # A record in full, opened by its URL, and expanded inline.
    page.goto(f"{live_server}/stream/activity")
    record = page.locator(TOP_ROW).first.get_attribute("data-row-id")
    page.goto(f"{live_server}/stream/activity/{record}")
    problems["activity detail"] = severe_violations(page)
    page.goto(f"{live_server}/stream/activity")
    page.locator(f"{TOP_ROW} details summary").first.click()
    expect(page.locator(f"{TOP_ROW} .detail-slot .detail").first).to_be_visible()
    problems["activity detail inline"] = severe_violations(page)
    # Preview as a role.
    page.goto(f"{live_server}/stream/settings")
    page.locator(".preview-form select[name=role]").select_option(label="Teammate")
    page.locator(".preview-form button[type=submit]").click()
    expect(page.locator(".preview")).to_be_visible()
    problems["preview"] = severe_violations(page)
    assert {view: found for view, found in problems.items() if found} == {}
