"""Restore from a record, in real Chromium, as an owner would: delete a company with its work,
find the deletion on the Activity tab, press Restore from the keyboard, and see the company
back with its tasks, the restore recorded as one group linked to the record it undid. In dark
mode at a phone's width, without an accessibility violation."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import evidence_keeping_page
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import severe_violations
from tests.browser.test_request_groups import delete_a_company_with_its_work


@pytest.fixture
def page(request, browser):
    yield from evidence_keeping_page(
        request, browser, color_scheme="dark", viewport={"width": 390, "height": 844}
    )


def test_an_owner_restores_a_deleted_company_with_its_tasks(page, fresh_server):
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/workspace/companies")
    before = sorted(page.locator("main a[href^='/workspace/companies/']").all_inner_texts())
    # Globex: its documents hold no access code (a secret the log never keeps, which would
    # refuse the restore, naming the document).
    tasks, documents = delete_a_company_with_its_work(page, fresh_server, "Globex")

    page.goto(f"{fresh_server}/stream/activity")
    group = page.locator("li.row-group").first
    group.locator(".group-parts > summary").click()
    deletion = group.locator(".group-rows > li.row").filter(has_text="deleted Company")
    deletion.locator("details.row-detail > summary").click()
    button = deletion.get_by_role("button", name="Restore")
    expect(button).to_be_visible()
    assert severe_violations(page) == []
    button.focus()
    page.keyboard.press("Enter")
    said = deletion.locator(".restore-answer [role=status]")
    expect(said).to_contain_text("Restored.")
    assert severe_violations(page) == []

    # The company is back, with its tasks.
    page.goto(f"{fresh_server}/workspace/companies")
    after = sorted(page.locator("main a[href^='/workspace/companies/']").all_inner_texts())
    assert after == before

    # The restore is recorded, one request: one group, linked to the record it undid.
    page.goto(f"{fresh_server}/stream/activity")
    restored = page.locator("li.row-group").first
    sentence = restored.locator("> .row-body > .sentence")
    expect(sentence).to_contain_text(re.compile(rf"restored .*{tasks} tasks"))
    expect(sentence).to_contain_text("1 company")
    restored.locator(".group-parts > summary").click()
    company = restored.locator(".group-rows > li.row").filter(has_text="restored Company")
    company.locator("details.row-detail > summary").click()
    expect(company.locator(".restore-link")).to_contain_text(re.compile(r"Undid record #\d+"))

    # Pressing Restore again on the deletion is refused, saying why.
    company.locator(".restore-link a").click()
    expect(page.locator(".restore-link")).to_contain_text("Restored by record #")
    expect(page.get_by_role("button", name="Restore")).to_have_count(0)
