"""One request's actions as one line, in real Chromium: an owner deletes a company with its
tasks and documents, and the Activity tab reads it as one group that opens to its parts, from
the keyboard, at a phone's width and in dark mode, without an accessibility violation; its
session's actions are one link away on the Logins tab."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import evidence_keeping_page
from tests.browser.conftest import sign_in
from tests.browser.conftest import tab_to
from tests.browser.test_accessibility import severe_violations

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(request, browser):
    yield from evidence_keeping_page(request, browser, color_scheme="dark")


def delete_a_company_with_its_work(page, server, name=None):
    """Delete, through the workspace's own pages, the first company (named ``name``) that has
    two tasks or more; return how many tasks and documents went with it."""
    page.goto(f"{server}/workspace/companies")
    links = page.locator("a[href^='/workspace/companies/']")
    if name:
        links = links.filter(has_text=name)
    for href in links.evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        if not re.fullmatch(r"/workspace/companies/\d+", href):
            continue
        page.goto(f"{server}{href}/delete")
        said = re.search(r"Its (\d+) task\(s\) and (\d+) document\(s\)", page.content())
        if said and int(said.group(1)) >= 2:
            page.get_by_role("button", name="Delete company").click()
            expect(page.get_by_text("deleted.")).to_be_visible()
            return int(said.group(1)), int(said.group(2))
    pytest.fail("no demo company has two tasks or more")


def test_a_deleted_company_reads_as_one_group_that_opens_to_its_parts(page, fresh_server):
    sign_in(page, fresh_server, "owner@example.com")
    tasks, documents = delete_a_company_with_its_work(page, fresh_server)
    page.goto(f"{fresh_server}/stream/activity")
    group = page.locator("li.row-group").first
    expect(group).to_be_visible()
    sentence = group.locator("> .row-body > .sentence")
    # Newest first, as the rows: the company went last.
    expect(sentence).to_contain_text("deleted 1 company")
    expect(sentence).to_contain_text(f"{tasks} tasks")
    parts = group.locator(".group-rows > li.row")
    expect(parts).to_have_count(tasks + documents + 1)
    expect(parts.first).to_be_hidden()

    # From the keyboard: the group's summary opens it, and a part's own Details open too.
    tab_to(page, "li.row-group .group-parts > summary")
    page.keyboard.press("Enter")
    expect(parts.first).to_be_visible()
    expect(group.locator(".group-parts > summary")).to_have_text(
        f"Show the {tasks + documents + 1} actions"
    )
    parts.first.locator("details.row-detail > summary").click()
    expect(parts.first.locator(".detail-slot .detail")).to_be_visible()
    expect(parts.first.locator(".detail-slot")).to_contain_text("Everything this session did")
    assert severe_violations(page) == []

    # "This request" lists the parts alone, ungrouped.
    group.get_by_role("link", name="This request", exact=True).click()
    expect(page).to_have_url(re.compile(r"/stream/activity\?request="))
    expect(page.locator("li.row-group")).to_have_count(0)
    expect(page.locator("ol.rows > li.row")).to_have_count(tasks + documents + 1)

    # At a phone's width the group never makes the page scroll sideways.
    page.set_viewport_size(PHONE)
    page.goto(f"{fresh_server}/stream/activity")
    page.locator("li.row-group .group-parts > summary").first.click()
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth")
    assert severe_violations(page) == []


def test_a_sign_in_opens_what_its_session_did(page, fresh_server):
    sign_in(page, fresh_server, "owner@example.com")
    tasks, documents = delete_a_company_with_its_work(page, fresh_server)
    page.goto(f"{fresh_server}/stream/logins")
    page.locator("a.session-actions").first.click()
    expect(page).to_have_url(re.compile(r"/stream/activity\?session=\d+$"))
    expect(page.locator(".list-meta")).to_contain_text("in session")
    # Everything this session did is the company's deletion, as one group.
    expect(page.locator("li.row-group")).to_have_count(1)
    expect(page.locator("li.row-group .group-rows > li.row")).to_have_count(tasks + documents + 1)
