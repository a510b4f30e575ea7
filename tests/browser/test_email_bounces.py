"""Delivery truth in a real browser: a bounced message's badge and filter on the Email tab, its
address suppressed (no Resend), lifted from Manage People after the question, then Resend
asking with the bounce named. A server of its own (``fresh_server``): it changes state."""

import json

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in

BOUNCE = """
from core.people import User
from plugins.email import delivery
from plugins.email.models import EmailMessage
dana = User.get(User.email == "teammate@example.com")
message = (EmailMessage.select().where(EmailMessage.recipient_id == dana.id,
    EmailMessage.private == False).order_by(EmailMessage.id.desc()).first())
print(delivery.record(delivery.Report(key="webhook:browser-1", source="webhook",
    message_id=message.message_id, recipient=dana.email, event="bounced", hard=True,
    status_code="5.1.1", diagnostic="550 5.1.1 user unknown")))
print(json.dumps([message.id, dana.id, message.subject]))
"""


def test_a_bounce_shows_suppresses_and_is_lifted(page, fresh_server, console_errors):
    out = run_in_app(fresh_server, "import json\n" + BOUNCE.strip())
    message_id, dana_id, subject = json.loads(out.strip().splitlines()[-1])
    open_tab(page, fresh_server, "email")
    page.locator(".more-filters > summary").evaluate("s => s.parentElement.open = true")
    page.get_by_role("combobox", name="Delivery", exact=True).select_option("bounced")
    expect(page.locator("#email-q")).to_have_value("delivery:bounced")
    rows = page.locator("ol.rows > li.email-row[data-row-id]")
    expect(rows).to_have_count(1)
    row = rows.first
    assert row.get_attribute("data-row-id") == str(message_id)
    expect(row.locator(".email-delivery")).to_have_text("Bounced")
    expect(row.locator(".email-suppressed-note")).to_have_text("Address suppressed")
    expect(row.get_by_role("button", name="Resend")).to_have_count(0)
    row.locator("summary", has_text="See Message").click()
    expect(row.locator(".email-reports")).to_contain_text("550 5.1.1 user unknown")

    page.context.clear_cookies()
    sign_in(page, fresh_server, "owner@example.com")
    page.goto(f"{fresh_server}/people/{dana_id}")
    card = page.locator("section.email-suppression")
    expect(card).to_contain_text("No notification is sent to teammate@example.com")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    card.get_by_role("button", name="Lift suppression").click()
    expect(card).to_contain_text("the suppression was lifted")
    assert questions and questions[0].startswith("Lift the suppression of teammate@example.com?")

    page.goto(f"{fresh_server}/stream/email?delivery=bounced")
    row = page.locator(f"li.email-row[data-row-id='{message_id}']")
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    row.get_by_role("button", name="Resend").click()
    page.wait_for_timeout(300)
    assert questions[-1].startswith("This message bounced (hard bounce (provider event): 550 5.1.1")
    assert questions[-1].endswith(f"Resend “{subject}” to Dana Scully?")
    assert console_errors == []
