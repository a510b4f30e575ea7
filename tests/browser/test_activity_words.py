"""The Activity tab in people's words, in a real browser: an edited text shows the words that
changed (marked for eyes and screen readers, readable in light and dark), a status its form's
words, a colour a swatch, an unlocked person their name; ``verb:`` takes the rows' words."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in
from tests.conftest import SIGN_IN_CANARY

FIRST = (
    "We will deliver the first draft of the plan by Friday and review it with the whole team "
    "next week, before it goes to the client for signature."
)
REVISED = FIRST.replace("first", "revised")

# The contrast of an element's text against its own background (WCAG's formula).
CONTRAST = """element => {
  const rgb = value => value.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const light = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map(c => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const style = getComputedStyle(element);
  const [a, b] = [light(rgb(style.color)), light(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def object_id(server, model, name_field, name):
    """Return the id of the workspace or core object whose ``name_field`` is ``name``."""
    code = f"print({model}.get({model}.{name_field} == {name!r}).id)"
    module = "core.people" if model == "Team" else "activity_stream_workspace.models"
    return int(run_in_app(server, f"from {module} import {model}\n{code}"))


def themed(browser, scheme):
    """Return a page in a new context with the ``scheme`` colour scheme."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def save_document_text(page, server, document_id, text):
    """Edit the document's text through its form, as a person does."""
    page.goto(f"{server}/workspace/documents/{document_id}/edit")
    page.fill("textarea[name=body]", text)
    with page.expect_navigation():
        page.get_by_role("button", name="Save document").click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_edited_text_shows_the_words_that_changed(browser, fresh_server, scheme):
    page = themed(browser, scheme)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, fresh_server, "admin@example.com")
        document = object_id(fresh_server, "Document", "title", "Master services agreement")
        save_document_text(page, fresh_server, document, FIRST)
        save_document_text(page, fresh_server, document, REVISED)
        page.goto(f"{fresh_server}/stream/activity")
        row = page.locator("[data-row-id]").first
        expect(row.locator(".sentence")).to_contain_text("edited Document")
        summary = row.locator(".summary")
        # Only the changed words, a few words either side; never both sides cut alike.
        expect(summary).to_have_text(
            "Text: … will deliver the removed: first added: revised draft of the …"
        )
        expect(summary.locator("del")).to_have_text("removed: first")
        expect(summary.locator("ins")).to_have_text("added: revised")
        expect(summary.locator("ins .sr-only")).to_have_text("added:")
        hidden = summary.locator("ins .sr-only").bounding_box()  # said, not shown
        assert hidden["width"] <= 1 and hidden["height"] <= 1, hidden
        for mark in ("del", "ins"):
            ratio = summary.locator(mark).evaluate(CONTRAST)
            assert ratio >= 4.5, f"{mark} in {scheme}: contrast {ratio:.2f}"
        # The detail shows both texts whole, the removed word marked before, the added after.
        row.locator("details.row-detail summary").click()
        words = row.locator(".detail-slot td.words")
        expect(words.first.locator("del")).to_have_text("removed: first")
        expect(words.last.locator("ins")).to_have_text("added: revised")
        expect(words.last).to_contain_text("for signature.")
        for mark in (words.first.locator("del"), words.last.locator("ins")):
            ratio = mark.evaluate(CONTRAST)
            assert ratio >= 4.5, f"detail mark in {scheme}: contrast {ratio:.2f}"
        assert errors == []
    finally:
        page.context.close()


def test_a_status_reads_as_its_form_says_it(page, live_server):
    sign_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/stream/activity?q=verb:task.updated")
    summaries = page.locator("[data-row-id] .summary")
    expect(summaries.filter(has_text="Status: Open → In progress").first).to_be_visible()
    assert not [text for text in summaries.all_inner_texts() if "in_progress" in text]
    page.goto(f"{live_server}/stream/activity?q=verb:completed")
    completed = page.locator("[data-row-id] .summary").first
    expect(completed).to_have_text("Status: In progress → Done")


def test_verb_takes_the_words_rows_say(page, live_server):
    sign_in(page, live_server, "admin@example.com")
    page.goto(f"{live_server}/stream/activity")
    search = page.locator("input[name=q]")
    search.fill("verb:edited")
    search.press("Enter")
    expect(page).to_have_url(f"{live_server}/stream/activity?q=verb%3Aedited")
    sentences = page.locator("[data-row-id] .sentence")
    expect(sentences.first).to_contain_text(" edited ")
    assert all(" edited " in text for text in sentences.all_inner_texts())
    search.fill("verb:edtied")
    search.press("Enter")
    expect(page.locator("#feed-filter-error")).to_contain_text("verb: expected")
    expect(page.locator("#feed-filter-error")).to_contain_text("got 'edtied'")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_colour_shows_a_swatch_beside_its_value(browser, fresh_server, scheme):
    page = themed(browser, scheme)
    try:
        sign_in(page, fresh_server, "admin@example.com")
        team = object_id(fresh_server, "Team", "name", "Sales")
        page.goto(f"{fresh_server}/teams/{team}")
        page.fill("input[name=color]", "#0e7490")
        with page.expect_navigation():
            page.get_by_role("button", name="Save team").click()
        page.goto(f"{fresh_server}/stream/activity")
        summary = page.locator("[data-row-id]").first.locator(".summary")
        expect(summary).to_contain_text("→ #0e7490")
        swatch = summary.locator("svg.swatch").last
        expect(swatch).to_be_visible()
        expect(swatch).to_have_attribute("aria-hidden", "true")
        assert swatch.locator("rect").get_attribute("fill") == "#0e7490"
        box = swatch.bounding_box()
        assert box["width"] >= 10 and box["height"] >= 10
        # An outline keeps a dark colour visible on the dark page.
        stroke = swatch.locator("rect").evaluate("rect => getComputedStyle(rect).stroke")
        assert stroke not in ("none", ""), stroke
    finally:
        page.context.close()


def test_an_unlocked_person_is_named_not_their_email(page, other_page, fresh_server):
    for _ in range(5):
        other_page.goto(f"{fresh_server}/login")
        other_page.fill("input[name=email]", "sales@example.com")
        other_page.fill("input[name=password]", SIGN_IN_CANARY)
        other_page.click("form button[type=submit]")
        expect(other_page.locator("p.alert")).to_be_visible()
    sign_in(page, fresh_server, "admin@example.com")
    page.goto(f"{fresh_server}/stream/logins?outcome=account_locked")
    page.locator("[data-row-id]").first.get_by_role("button", name="Unlock account").click()
    expect(page.locator("[data-row-id]").first.get_by_role("button", name="Unlock")).to_have_count(
        0
    )
    page.goto(f"{fresh_server}/stream/activity")
    sentence = page.locator("[data-row-id]").first.locator(".sentence")
    expect(sentence).to_contain_text("lifted the lock of account Sam Okafor (sales@example.com)")
