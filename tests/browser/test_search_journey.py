"""Search as a person uses it: a query with qualifiers typed in the box moves the controls,
picking a control rewrites the query, the URL holds it (a reload shows the same rows), a bad
term is a message under the box with the rows kept, and a search can be saved and reopened."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_tab


def row_ids(page):
    """Return the ids of the rows the list shows."""
    return page.locator("#feed-results [data-row-id]").evaluate_all(
        "rows => rows.map(row => row.dataset.rowId)"
    )


def settle(page):
    """Wait until no request of the list is in flight."""
    expect(page.locator("html")).not_to_have_class(re.compile(r"\bloading\b"), timeout=10_000)


def test_a_typed_query_moves_the_controls_and_a_reload_shows_the_same_rows(page, live_server):
    open_tab(page, live_server, "activity", email="owner@example.com")
    box = page.locator("#activity-q")
    box.click()
    box.press_sequentially("actor:dana type:task", delay=30)
    expect(page).to_have_url(re.compile(r"q=actor%3Adana(\+|%20)type%3Atask"), timeout=10_000)
    settle(page)
    person = page.locator("#activity-actor")
    expect(person.locator("option:checked")).to_have_text("Dana Scully")
    expect(page.locator("#activity-type")).to_have_value("task")
    expect(box).to_be_focused()  # the controls moved; the box kept the typing
    shown = row_ids(page)
    assert shown, "the demo has Dana's tasks"

    page.reload()
    expect(page.locator("#activity-q")).to_have_value("actor:dana type:task")
    expect(page.locator("#activity-actor option:checked")).to_have_text("Dana Scully")
    assert row_ids(page) == shown
    page.evaluate("window.__marker = 43")

    # Picking a control rewrites its qualifier in the box, and only that one.
    page.locator("#activity-type").select_option("document")
    expect(page.locator("#activity-q")).to_have_value("actor:dana type:document")
    # The control's own parameter holds it in the URL, the rest of the query stays in q.
    expect(page).to_have_url(re.compile(r"q=actor%3Adana&type=document"), timeout=10_000)
    settle(page)
    documents = row_ids(page)
    page.reload()
    expect(page.locator("#activity-q")).to_have_value("actor:dana type:document")
    assert row_ids(page) == documents
    page.evaluate("window.__marker = 43")
    page.locator("#activity-actor").select_option("")
    expect(page.locator("#activity-q")).to_have_value("type:document")
    settle(page)
    assert page.evaluate("window.__marker") == 43  # all of it without a page load


def test_a_bad_term_is_named_under_the_box_and_the_rows_stay(page, live_server):
    open_tab(page, live_server, "activity", email="owner@example.com")
    box = page.locator("#activity-q")
    box.fill("type:task")
    box.press("Enter")
    settle(page)
    tasks = row_ids(page)
    box.fill("type:task created:2026-02-30")
    box.press("Enter")
    expect(page.locator("#feed-filter-error")).to_contain_text("created: expected a day")
    settle(page)
    assert row_ids(page) == tasks
    expect(page).not_to_have_url(re.compile("2026-02-30"))
    box.fill("actor:nobody")
    box.press("Enter")
    expect(page.locator("#feed-results .empty")).to_contain_text("No one is named “nobody”.")
    expect(page.locator("#feed-filter-error")).to_be_empty()


def test_a_saved_search_is_listed_beside_the_box_and_reopens_its_query(page, live_server):
    open_tab(page, live_server, "email", email="owner@example.com")
    box = page.locator("#email-q")
    box.fill("status:kept")
    box.press("Enter")
    settle(page)
    kept = row_ids(page)
    page.locator("#email-save-name").fill("Kept mail")
    page.locator("#email-save-name").press("Enter")
    saved = page.locator("#saved-searches a", has_text="Kept mail")
    expect(saved).to_be_visible()
    box.fill("")
    box.press("Enter")
    settle(page)
    saved.click()
    expect(page.locator("#email-q")).to_have_value("status:kept")
    expect(page.locator("#email-status")).to_have_value("kept")
    settle(page)
    assert row_ids(page) == kept
    page.get_by_role("button", name="Delete saved search Kept mail").click()
    expect(page.locator("#saved-searches a", has_text="Kept mail")).to_have_count(0)
