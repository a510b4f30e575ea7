"""See Message as a mail viewer in a real browser: its tabs with the mouse and the arrow keys,
Raw showing the source, the .eml download, Resend asking first and staying in the list, and
the frame sized to its message and following dark mode. Each test runs on a server of its own
(``fresh_server``): opening a message is recorded as a read."""

import email
import email.policy
import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in

PLAIN_MESSAGE = """
from core.db import database
from core.people import User
from plugins.email import outbox
from plugins.email import sender
dana = User.get(User.email == "teammate@example.com")
with app.test_request_context():
    with database.atomic():
        (message_id,) = outbox.queue([{"kind": "test.plain", "private": False, "sender_id": None,
            "sender_name": "", "recipient": dana, "subject": "Plain words",
            "text_body": "No colours here.", "html_body": "<p>No colours here.</p>"}])
sender.deliver(message_id, app.extensions["email.settings"])
print(message_id)
"""


def open_first_message(page, server):
    """Sign in as the Admin, open the Email tab and See Message on the newest task assignment
    (the workspace's notification, in the platform's mail layout); return the row's locator."""
    open_tab(page, server, "email")
    row = page.locator("li.email-row[data-row-id]", has_text="Task assigned to you").first
    row.locator("summary", has_text="See Message").click()
    expect(row.locator(".email-viewer [role=tablist]")).to_be_visible()
    # htmx wires the new viewer's tabs when the swap settles, and marks new content
    # ``htmx-added`` until then: a click before that submits the tabs' form as a plain page.
    expect(row.locator(".htmx-added")).to_have_count(0)
    return row


def selected_tab(row):
    """Return the name of the row's selected tab, checking only one is selected."""
    tabs = row.locator("[role=tab][aria-selected=true]")
    expect(tabs).to_have_count(1)
    return tabs.inner_text()


def test_the_tabs_switch_with_the_mouse_and_the_arrow_keys(page, fresh_server, console_errors):
    row = open_first_message(page, fresh_server)
    viewer = row.locator(".email-viewer")
    assert selected_tab(row) == "HTML"
    expect(viewer.locator("iframe.email-frame")).to_be_visible()
    expect(viewer.locator("pre.email-raw")).to_be_hidden()

    # The mouse: Raw shows the source as sent, escaped, and nothing else.
    viewer.get_by_role("tab", name="Raw").click()
    expect(viewer.get_by_role("tab", name="Raw")).to_have_attribute("aria-selected", "true")
    raw = row.locator("pre.email-raw")
    expect(raw).to_be_visible()
    message_id = row.locator(".email-message-id").inner_text().strip()
    expect(raw).to_contain_text(f"Message-ID: {message_id}")
    expect(raw).to_contain_text("Content-Type: multipart/alternative")
    expect(raw).to_contain_text("Content-Transfer-Encoding: quoted-printable")
    expect(raw).to_contain_text("<p style=3D")  # the HTML part as text, quoted-printable
    expect(row.locator("iframe.email-frame")).to_be_hidden()

    # The keyboard: the arrow keys move between the tabs (static/app.js), Enter selects the
    # focused one, which shows its part; the focus stays on it.
    row.get_by_role("tab", name="Raw").focus()
    page.keyboard.press("ArrowLeft")
    expect(row.get_by_role("tab", name="Headers")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_role("tab", name="Headers")).to_have_attribute("aria-selected", "true")
    expect(row.get_by_role("tab", name="Headers")).to_be_focused()
    expect(row.locator("table.email-headers")).to_be_visible()
    expect(row.locator("pre.email-raw")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    expect(row.get_by_role("tab", name="Text")).to_have_attribute("aria-selected", "true")
    expect(row.locator("pre.email-text")).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(row.get_by_role("tab", name="Raw")).to_be_focused()
    page.keyboard.press("Space")
    expect(row.get_by_role("tab", name="Raw")).to_have_attribute("aria-selected", "true")
    expect(row.get_by_role("tab", name="Raw")).to_be_focused()
    page.keyboard.press("ArrowRight")  # from the last tab to the first
    expect(row.get_by_role("tab", name="HTML")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_role("tab", name="HTML")).to_have_attribute("aria-selected", "true")
    expect(row.locator("iframe.email-frame")).to_be_visible()
    assert selected_tab(row) == "HTML"
    # One tab in the tab order: the selected one.
    tabindexes = row.locator("[role=tab]").evaluate_all("ts => ts.map(t => t.tabIndex)")
    assert tabindexes == [0, -1, -1, -1]
    assert page.evaluate("window.__marker") == 42, "switching tabs left the page"
    assert console_errors == [], console_errors


def frame_fit(page, frame):
    """Return ``(content height, frame height, content bottom)`` of the document in ``frame``
    (a locator): the first two equal when the content is shorter than the frame."""
    inside = page.frame_locator(f"iframe[name={frame.get_attribute('name')}]").locator("html")
    expect(inside).not_to_be_empty()
    script = "e => [e.scrollHeight, innerHeight, document.body.getBoundingClientRect().bottom]"
    return tuple(inside.evaluate(script))


def test_the_frame_is_as_tall_as_its_message(page, fresh_server):
    long_message = PLAIN_MESSAGE.replace('"Plain words"', '"A long report"').replace(
        '"<p>No colours here.</p>"',
        '"".join(f"<p>Part {i}. " + "Words of the report. " * 12 + "</p>" for i in range(25))',
    )
    long_id = json.loads(run_in_app(fresh_server, long_message).strip().splitlines()[-1])
    # A notification in the platform's layout, in place: whole, no scrollbar of its own, and
    # not much blank space below it.
    row = open_first_message(page, fresh_server)
    frame = row.locator("iframe.email-frame")
    scroll, height, bottom = frame_fit(page, frame)
    assert scroll <= height, f"the frame scrolls: {scroll}px of content in {height}px"
    assert height - bottom < 100, f"{height}px for {bottom}px of content"
    assert frame.evaluate("f => getComputedStyle(f).resize") == "vertical"
    # A long message, as a page: the frame grows with it (not the fixed 360 px), still whole.
    page.goto(f"{fresh_server}/stream/email/{long_id}")
    scroll, height, bottom = frame_fit(page, page.locator("iframe.email-frame"))
    assert bottom > 1000, bottom
    assert scroll <= height, f"the frame scrolls: {scroll}px of content in {height}px"


def test_the_eml_link_downloads_the_message(page, fresh_server):
    row = open_first_message(page, fresh_server)
    message_id = row.locator(".email-message-id").inner_text().strip()
    record_id = row.get_attribute("data-row-id")
    with page.expect_download() as info:
        row.get_by_role("link", name="Download .eml").click()
    download = info.value
    assert download.suggested_filename == f"message-{record_id}.eml"
    with open(download.path(), "rb") as source:
        parsed = email.message_from_bytes(source.read(), policy=email.policy.default)
    assert parsed["Message-ID"] == message_id
    assert parsed["Subject"] == row.locator(".email-subject-header").inner_text().strip()
    assert parsed.get_body(("plain",)) is not None and parsed.get_body(("html",)) is not None
    assert page.evaluate("window.__marker") == 42


def test_resend_asks_first_and_the_copy_appears_at_the_top_of_the_list(page, fresh_server):
    open_tab(page, fresh_server, "email")
    rows = page.locator("ol.rows > li.email-row[data-row-id]")
    original = rows.nth(2)
    original_id = original.get_attribute("data-row-id")
    subject = original.locator(".email-subject").inner_text().strip()
    recipient = original.locator(".email-to").inner_text().strip()
    newest = rows.first.get_attribute("data-row-id")
    questions = []

    # Asked, and declined: nothing is queued.
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    original.get_by_role("button", name="Resend").click()
    page.wait_for_timeout(500)
    assert questions == [f"Resend “{subject}” to {recipient}?"]
    assert rows.first.get_attribute("data-row-id") == newest

    # Asked again, and accepted: the copy's row comes at the top of the list, queued.
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    original.get_by_role("button", name="Resend").click()
    copy = rows.first
    expect(copy).not_to_have_attribute("data-row-id", newest)
    copy_id = copy.get_attribute("data-row-id")
    assert int(copy_id) > int(newest) and len(questions) == 2
    expect(copy.locator(".email-resent-note")).to_have_text(
        f"Resent: new copy #{copy_id} of message #{original_id}, queued."
    )
    expect(copy.locator(".email-subject")).to_have_text(subject)
    expect(copy.locator(".email-status")).to_have_text("Queued")
    assert page.evaluate("window.__marker") == 42, "Resend left the list"
    assert re.search(r"/stream/email$", page.url)

    # No consumer runs here: deliver it, and its row turns by itself, as any queued row does.
    run_in_app(
        fresh_server,
        f"from plugins.email import sender\n"
        f"sender.deliver({copy_id}, app.extensions['email.settings'])",
    )
    copy = page.locator(f"li.email-row[data-row-id='{copy_id}']")
    expect(copy.locator(".email-status")).to_have_text("Kept in the local outbox", timeout=10_000)
    assert page.evaluate("window.__marker") == 42


def test_dark_mode_gives_the_frame_a_dark_background(browser, fresh_server):
    message_id = json.loads(run_in_app(fresh_server, PLAIN_MESSAGE).strip().splitlines()[-1])
    backgrounds = {}
    for scheme in ("dark", "light"):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        try:
            sign_in(page, fresh_server, "admin@example.com")
            page.goto(f"{fresh_server}/stream/email/{message_id}")
            html = page.frame_locator("iframe.email-frame").locator("html")
            expect(html).to_contain_text("No colours here.")
            backgrounds[scheme] = html.evaluate(
                "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]"
            )
        finally:
            context.close()
    assert backgrounds["dark"] == ["rgb(17, 24, 39)", "rgb(229, 231, 235)"], backgrounds
    assert backgrounds["light"][0] in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), backgrounds
