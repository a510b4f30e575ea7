"""The words a person types in a search box find what they mean, in real Chromium:
``outcome:failed`` on Logins lists every kind of failure and sets the Outcome control to
"Any failure"; ``country:Germany`` is a country, not a refusal."""

import re

from playwright.sync_api import expect

from core.auth.signins import FAILURES
from tests.browser.conftest import sign_in


def test_outcome_failed_lists_every_failure_and_sets_the_control(page, live_server):
    sign_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/stream/logins")
    box = page.locator(".filters input[name=q]")
    box.fill("outcome:failed")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"q=outcome(%3A|:)failed"))
    rows = page.locator("li.login-row[data-outcome]")
    expect(rows.first).to_be_visible()
    outcomes = set(rows.evaluate_all("rows => rows.map(r => r.dataset.outcome)"))
    assert outcomes and outcomes <= set(FAILURES), outcomes
    assert len(outcomes) > 1, "several kinds of failure are in the demo's sign-ins"
    expect(page.locator("#feed-filter-error")).to_be_empty()
    expect(page.locator("select[name=outcome]")).to_have_value("failed")


def test_a_country_by_its_name_is_not_refused(page, live_server):
    sign_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/stream/logins")
    box = page.locator(".filters input[name=q]")
    box.fill("country:Germany")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"q=country(%3A|:)Germany"))
    expect(page.locator("#feed-filter-error")).to_be_empty()
    box.fill("country:Atlantis")
    box.press("Enter")
    expect(page.locator("#feed-filter-error")).to_contain_text("Germany or DE")
