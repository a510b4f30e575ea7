"""The accessibility audit (axe-core in the real Chromium, light and dark) of every page that is
not a tab: sign-in, profile, Manage People and Manage Teams, the host platform's pages, a
message and a sign-in record opened by their URLs, the API's reference, an error page; and the
list in compact rows with the filters open and the search suggestions showing. No serious or
critical finding."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TOP_ROW
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import severe_violations

# Listing pages, each with the first of its records opened by following its link.
LISTS_AND_FIRST = (
    ("/people", r"^/people/\d+$"),
    ("/teams", r"^/teams/\d+$"),
    ("/workspace/companies", r"^/workspace/companies/\d+$"),
    ("/workspace/tasks", r"^/workspace/tasks/\d+$"),
    ("/workspace/documents", r"^/workspace/documents/\d+$"),
    ("/workspace/messages", r"^/workspace/messages/\d+$"),
)
FORMS = (
    "/profile",
    "/workspace/",
    "/workspace/companies/new",
    "/workspace/tasks/new",
    "/workspace/documents/new",
    "/workspace/messages/new",
    "/api/v1/docs",
    "/no-such-page",
)


@pytest.fixture(params=["light", "dark"])
def scheme(request):
    return request.param


def themed(browser, scheme):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def first_link(page, pattern):
    hrefs = page.locator("main a[href]").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    found = [href for href in hrefs if re.match(pattern, href)]
    assert found, (page.url, pattern, hrefs[:20])
    return found[0]


def test_every_page_outside_the_tabs_passes_the_audit(browser, live_server, scheme):
    page = themed(browser, scheme)
    problems = {}
    page.goto(f"{live_server}/login")
    problems["/login"] = severe_violations(page)
    sign_in(page, live_server, "owner@example.com")
    for path in FORMS:
        page.goto(f"{live_server}{path}")
        problems[path] = severe_violations(page)
    for path, pattern in LISTS_AND_FIRST:
        assert page.goto(f"{live_server}{path}").status == 200, path
        problems[path] = severe_violations(page)
        record = first_link(page, pattern)
        assert page.goto(f"{live_server}{record}").status == 200, record
        problems[record] = severe_violations(page)
    for tab in ("email", "logins"):
        page.goto(f"{live_server}/stream/{tab}")
        record = page.locator(TOP_ROW).first.get_attribute("data-row-id")
        assert record, tab
        assert page.goto(f"{live_server}/stream/{tab}/{record}").status == 200, tab
        problems[f"/stream/{tab}/{record}"] = severe_violations(page)
    page.context.close()
    assert {view: found for view, found in problems.items() if found} == {}


def test_compact_rows_with_filters_and_suggestions_open_pass_the_audit(
    browser, fresh_server, scheme
):
    page = themed(browser, scheme)
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/stream/activity")
    page.locator("form.density").get_by_role("button", name="Compact").click()
    expect(page.locator(".stream")).to_have_attribute("data-density", "compact")
    problems = {}
    for tab in ("activity", "email", "logins"):
        page.goto(f"{fresh_server}/stream/{tab}")
        problems[f"{tab} compact"] = severe_violations(page)
    page.goto(f"{fresh_server}/stream/activity")
    page.locator("details.more-filters > summary").click()
    box = page.locator("#activity-q")
    box.click()
    box.press_sequentially("actor:")
    expect(page.locator(".suggestions [role=option]").first).to_be_visible()
    box.press("ArrowDown")
    problems["filters and suggestions open"] = severe_violations(page)
    page.context.close()
    assert {view: found for view, found in problems.items() if found} == {}


def test_the_pages_audited_are_the_pages_themselves(browser, live_server):
    """Guard the audit's list: every page above answers itself, not an error page (a page
    renamed would otherwise be audited as "not found" and pass)."""
    page = themed(browser, "light")
    sign_in(page, live_server, "owner@example.com")
    for path in FORMS[:-1]:
        answer = page.goto(f"{live_server}{path}")
        assert answer.status == 200, path
    assert page.goto(f"{live_server}{FORMS[-1]}").status == 404
    page.context.close()
