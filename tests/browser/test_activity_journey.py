"""The Activity tab in a real browser: infinite scroll, filters, inline details, new events."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import run_in_app

PAGE_SIZE = 50
SENTINEL = '[hx-get*="/stream/activity/rows"]'


def open_activity(page, base_url):
    """Sign in as the Admin and open the Activity tab (the window marked)."""
    open_tab(page, base_url, "activity")


def row_ids(page):
    """Return the ``data-row-id`` of every row in the list, in page order, as integers."""
    ids = page.locator("[data-row-id]").evaluate_all(
        "rows => rows.map(row => row.getAttribute('data-row-id'))"
    )
    return [int(value) for value in ids]


def sentences(page):
    """Return the sentence of every row, in page order."""
    return page.locator("[data-row-id] .sentence").all_inner_texts()


def assert_not_reloaded(page):
    assert page.evaluate("window.__marker") == 42, "the whole page was reloaded"


def test_scrolling_to_the_end_loads_the_next_page(page, live_server, console_errors):
    open_activity(page, live_server)
    rows = page.locator("[data-row-id]")
    expect(rows).to_have_count(PAGE_SIZE)
    sentinel = page.locator(SENTINEL)
    expect(sentinel).to_have_count(1)
    expect(sentinel).to_have_attribute("hx-trigger", "intersect once")
    first_page = row_ids(page)

    # Scrolling the last row into view reveals the sentinel, which loads the next page.
    rows.last.scroll_into_view_if_needed()
    expect(rows).to_have_count(2 * PAGE_SIZE)
    ids = row_ids(page)
    assert ids[:PAGE_SIZE] == first_page, "the first page changed while the next one loaded"
    assert len(set(ids)) == len(ids), f"duplicate rows: {ids}"
    assert all(a > b for a, b in zip(ids, ids[1:], strict=False)), f"ids not decreasing: {ids}"
    # The used sentinel is gone; a new one (there are ~600 events) waits after the new rows.
    expect(sentinel).to_have_count(1)
    assert int(sentinel.get_attribute("hx-get").split("after=")[1].split("&")[0]) == ids[-1]
    assert_not_reloaded(page)
    assert console_errors == []


def test_an_action_filter_updates_the_list_in_place_and_back_undoes_it(
    page, live_server, console_errors
):
    open_activity(page, live_server)
    unfiltered = row_ids(page)
    assert any("commented on" not in sentence for sentence in sentences(page))

    action = page.locator(".filters select[name=action]")
    action.focus()
    action.select_option("commented on")  # named as the rows name it
    # Only the filter in use is in the URL (a deep link), not every empty field of the bar.
    expect(page).to_have_url(f"{live_server}/stream/activity?action=commented%20on")
    expect(action).to_have_value("commented on")
    expect(action).to_be_focused()  # the swapped-in select took the focus back
    rows = page.locator("[data-row-id]")
    expect(rows.first).to_be_visible()
    expect(page.locator(".list-meta")).to_contain_text("event")
    texts = sentences(page)
    assert texts, "no row matches the filter"
    assert all(" commented on " in text for text in texts), texts
    assert row_ids(page) != unfiltered
    # The next page keeps the filter.
    expect(page.locator(SENTINEL)).to_have_attribute("hx-get", re.compile(r"action=commented\+on"))
    assert_not_reloaded(page)

    page.go_back()
    expect(page).to_have_url(f"{live_server}/stream/activity")
    expect(page.locator(".filters select[name=action]")).to_have_value("")
    expect(rows).to_have_count(PAGE_SIZE)
    assert row_ids(page) == unfiltered
    assert console_errors == []


def test_typing_in_search_filters_as_you_type_and_keeps_the_focus(
    page, live_server, console_errors
):
    open_activity(page, live_server)
    search = page.locator(".filters input[name=q]")
    search.press_sequentially("Grace")
    # After a pause the panel (filter bar included) is swapped; the caret stays in the box.
    expect(page).to_have_url(f"{live_server}/stream/activity?q=Grace")
    expect(search).to_be_focused()
    search.press_sequentially(" Hopper")
    expect(page).to_have_url(f"{live_server}/stream/activity?q=Grace%20Hopper")
    expect(search).to_have_value("Grace Hopper")
    expect(search).to_be_focused()
    expect(page.locator("[data-row-id]").first).to_contain_text("Grace Hopper")
    assert_not_reloaded(page)
    assert console_errors == []


def test_details_expand_a_row_in_place(page, live_server, console_errors):
    open_activity(page, live_server)
    url = page.url
    # An edit carries a change set: pick the first edited row.
    row = page.locator("[data-row-id]").filter(has_text=" edited ").first
    row_id = row.get_attribute("data-row-id")
    slot = page.locator(f"#detail-{row_id}")
    expect(slot).to_be_empty()

    details = row.locator("details.row-detail")
    details.locator("summary").click()
    expect(slot.locator("table.changes")).to_be_visible()
    expect(slot.locator("table.changes tbody tr").first).to_be_visible()
    expect(slot.locator(".meta")).to_contain_text("edited")  # as the row says, not "updated"
    assert page.url == url, "the details navigated away"
    assert_not_reloaded(page)
    # Only that row opened; a second click folds it away again.
    expect(page.locator(".detail-slot:not(:empty)")).to_have_count(1)
    details.locator("summary").click()
    expect(slot.locator("table.changes")).to_be_hidden()
    assert console_errors == []


def record_event(server, label):
    """Record one completed task by Grace Hopper in ``server``'s database; return its id."""
    return int(
        run_in_app(
            server,
            f"""
from core.people import User
from core.events import Ref, record_activity
actor = User.get(User.email == "grace@example.com")
print(record_activity(actor, "task.completed", Ref("task", 990001, {label!r})).id)
""",
        )
    )


def test_new_events_banner_shows_and_loads_new_rows(page, fresh_server, console_errors):
    # A fake clock (time still flows) lets the test skip ahead to the banner's 15 s poll.
    page.clock.install()
    open_activity(page, fresh_server)
    banner = page.locator("#new-events")
    expect(banner).to_be_attached()
    expect(banner).to_have_text("")
    newest = row_ids(page)[0]

    first = record_event(fresh_server, "Browser banner one")
    assert first > newest
    page.clock.run_for("00:16")
    expect(banner).to_contain_text("1 new event")
    # The banner keeps polling: a second event is counted on the next round.
    second = record_event(fresh_server, "Browser banner two")
    page.clock.run_for("00:16")
    expect(banner).to_contain_text("2 new events")
    expect(page.locator("[data-row-id]").first).to_have_attribute("data-row-id", str(newest))

    banner.get_by_role("link").click()
    expect(page.locator("[data-row-id]").first).to_have_attribute("data-row-id", str(second))
    expect(page.locator("[data-row-id]").nth(1)).to_have_attribute("data-row-id", str(first))
    expect(page.locator("[data-row-id]").first).to_contain_text("Browser banner two")
    expect(page.locator("#new-events")).to_have_text("")
    expect(page.locator("[data-row-id]")).to_have_count(PAGE_SIZE)
    assert_not_reloaded(page)
    assert console_errors == []
