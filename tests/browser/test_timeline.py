"""Timelines in a real browser: a Company's, opened from its history on the Activity tab, its
Activity and Email rows merged in time order, "Load more" on scrolling, a phone's width, both
themes; a person's, opened from their page in Manage People."""

import re
from datetime import datetime
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TOP_ROW
from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import severe_violations

PHONE = {"width": 390, "height": 844}
ADDED_EVENTS, ADDED_MAIL = 52, 6  # with the demo's own, more than one page (50) of entries

# Run in the server's app: more history of the demo's first company, and mail naming it, one
# minute apart (newer than the demo's month). Prints the company's id and name.
ADD_HISTORY = f"""
from datetime import timedelta
from core.db import clock_at, utcnow
from core.events import Ref, record_activity
from core.notifications import Notification, notify
from core.people import User
from activity_stream_workspace.models import Company
company = Company.select().order_by(Company.id).first()
owner = User.get(User.email == "owner@example.com")
dana = User.get(User.email == "teammate@example.com")
start = utcnow()
for n in range({ADDED_EVENTS + ADDED_MAIL}):
    with clock_at(start + timedelta(minutes=n)):
        if n % 10 == 5:
            notify(Notification(
                kind="test.note", recipients=(dana,), subject=f"{{company.name}}: note {{n}}",
                template="workspace/mail/task_commented",
                context={{"actor_name": "Tester", "title": "A task", "body": "-", "link": None}},
            ))
        else:
            record_activity(owner, "company.updated", Ref("company", company.id, company.name),
                            summary=f"step {{n}}")
print(company.id, company.name)
"""


def entries(page):
    """Return ``(tab, row id, time)`` of every entry on the timeline, in page order."""
    found = page.locator("li.timeline-entry").evaluate_all(
        """entries => entries.map(entry => [entry.dataset.tab,
            entry.querySelector('[data-row-id]').dataset.rowId,
            entry.querySelector('time').getAttribute('datetime')])"""
    )
    return [
        (tab, int(row), datetime.fromisoformat(at.replace("Z", "+00:00"))) for tab, row, at in found
    ]


@pytest.fixture
def company(fresh_server):
    """Add history to the demo's first company; return ``(id, name)``."""
    company_id, name = run_in_app(fresh_server, ADD_HISTORY).split(maxsplit=1)
    return int(company_id), name.strip()


def open_timeline_from_history(page, server, company_id, name):
    """Open the company's history from one of its rows on the Activity tab, then its
    timeline by the row's Timeline link; return the timeline's URL."""
    page.goto(f"{server}/stream/activity")
    row = page.locator(TOP_ROW, has_text=name).first
    row.get_by_role("link", name="History").click()
    expect(page.locator(".list-meta")).to_contain_text("history of")
    history = unquote(page.url)
    kind, object_id = re.search(r"object=([^:&]+):([^&]+)", history).groups()
    assert (kind, object_id) == ("company", str(company_id))
    url = f"{server}/stream/timeline/{kind}/{object_id}"
    page.locator(TOP_ROW).first.get_by_role("link", name="Timeline").click()
    expect(page).to_have_url(url)
    return url


def test_a_company_timeline_merges_activity_and_email_and_loads_more(
    page, fresh_server, company, console_errors
):
    company_id, name = company
    sign_in(page, fresh_server, "owner@example.com")
    open_timeline_from_history(page, fresh_server, company_id, name)
    expect(page).to_have_title(f"Timeline of Company “{name}” · Activity Stream")
    expect(page.get_by_role("heading", level=2)).to_have_text(f"Timeline of Company “{name}”")
    expect(page.locator("#tab-activity")).to_have_attribute("aria-selected", "true")
    shown = page.locator("li.timeline-entry")
    expect(shown).to_have_count(50)
    first = entries(page)
    assert {tab for tab, _, _ in first} == {"activity", "email"}
    expect(shown.filter(has=page.locator(".timeline-tab", has_text="Email")).first).to_contain_text(
        f"{name}: note"
    )
    # Scrolling to the end asks for the next page, in place.
    page.evaluate("window.__marker = 42")
    page.locator("#load-more").scroll_into_view_if_needed()
    expect(page.locator(".list-end")).to_have_text("That is the whole timeline.")
    every = entries(page)
    assert len(every) > 50 and every[:50] == first
    keys = [(tab, row) for tab, row, _ in every]
    assert len(keys) == len(set(keys)), "an entry shown twice"
    times = [at for _, _, at in every]
    assert times == sorted(times, reverse=True), "not newest first"
    assert page.evaluate("window.__marker") == 42, "the page was reloaded"
    assert severe_violations(page) == []
    assert console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_timeline_fits_a_phone_and_passes_the_audit(browser, fresh_server, company, scheme):
    company_id, _ = company
    context = browser.new_context(viewport=PHONE, is_mobile=True, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, fresh_server, "owner@example.com")
        page.goto(f"{fresh_server}/stream/timeline/company/{company_id}")
        expect(page.locator("li.timeline-entry").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # Every entry's tab label sits above its row, inside the width.
        label = page.locator(".timeline-tab").first.bounding_box()
        row = page.locator("li.timeline-entry li.row").first.bounding_box()
        assert label["y"] + label["height"] <= row["y"] + 1
        # The panel: the top bar's own narrow layout is the page's, audited with it.
        assert severe_violations(page, context="#panel") == []
    finally:
        context.close()


def test_a_person_timeline_opens_from_their_page(page, live_server, console_errors):
    sign_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/people")
    page.get_by_role("link", name="Dana Scully").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dana Scully")
    page.get_by_role("link", name="Timeline").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Timeline of Dana Scully")
    tabs = {tab for tab, _, _ in entries(page)}
    assert {"activity", "logins"} <= tabs, tabs
    assert console_errors == []
