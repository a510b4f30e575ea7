"""The chart above every list, in a real Chromium on the seeded demo: drawn above the rows of
every tab; a bar clicked (or reached with Tab and Enter) narrows the list to its day through
the search box's own query, the box, the From and To fields and the URL saying so; no sideways
scroll at 390 px; no serious accessibility issue, light or dark."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import SEVERE

PHONE = {"width": 390, "height": 844}
BAR = re.compile(r"^(?P<title>.+): (?P<count>[\d,]+)\+? (?P<noun>[a-z -]+?)s?(, .*)?$")


def chart_violations(page):
    """Run axe-core on the chart alone; return its serious and critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, context="#feed-chart").response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in SEVERE]


def busiest_bar(page):
    """Return the chart's link with the most records, and what its label says."""
    labels = page.locator("#feed-chart .chart-links a").evaluate_all(
        "links => links.map(link => link.getAttribute('aria-label'))"
    )
    counts = [int(BAR.match(label)["count"].replace(",", "")) for label in labels]
    best = max(range(len(counts)), key=counts.__getitem__)
    assert counts[best] > 0, labels
    return page.locator("#feed-chart .chart-links a").nth(best), labels[best], counts[best]


def test_a_bar_clicked_narrows_the_list_to_its_day(page, live_server, console_errors):
    sign_in(page, live_server, "owner@example.com")
    for tab in ("activity", "email", "logins"):
        page.goto(f"{live_server}/stream/{tab}")
        chart = page.locator("#feed-results #feed-chart")
        expect(chart).to_be_visible()
        rows = page.locator("#feed-results ol.rows")
        assert chart.bounding_box()["y"] < rows.bounding_box()["y"], tab
    expect(page.locator("#feed-chart figcaption")).to_contain_text("hatched: failed")
    link, label, count = busiest_bar(page)
    href = link.get_attribute("href")
    day = re.search(r"created%3A(\d{4}-\d{2}-\d{2})", href)[1]
    page.evaluate("window.chartMark = 1")  # gone if the click loaded a new page
    link.click()
    expect(page).to_have_url(re.compile(rf"q=created%3A{day}$"))
    expect(page.locator("#logins-q")).to_have_value(f"created:{day}")
    expect(page.locator("#logins-from")).to_have_value(day)
    expect(page.locator("#logins-to")).to_have_value(day)
    # The list shows what the bar counted; its chart is now that day, hour by hour.
    expect(page.locator(".list-meta")).to_contain_text(f"{count} sign-in record")
    expect(page.locator("#feed-chart figcaption")).to_contain_text("per hour")
    assert page.evaluate("window.chartMark") == 1  # htmx swapped the panel in place
    assert page.locator("#feed-chart .chart-links a").count() in (23, 24, 25)
    # Back: the month again, as it was.
    page.go_back()
    expect(page.locator("#logins-q")).to_have_value("")
    expect(page.locator("#feed-chart figcaption")).to_contain_text("per day")
    assert label in page.locator("#feed-chart .chart-links a").evaluate_all(
        "links => links.map(link => link.getAttribute('aria-label'))"
    )
    assert console_errors == []


def test_the_bars_are_reached_with_tab_and_opened_with_enter(page, live_server, console_errors):
    sign_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/stream/activity?q=type:task")
    expect(page.locator("#feed-chart")).to_be_visible()
    page.locator(".list-meta a.clear").focus()  # the control just before the chart
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('.chart-links') !== null")
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert BAR.match(focused), focused
    page.keyboard.press("Tab")  # the next bar
    second = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert second != focused and BAR.match(second)
    day = re.search(r"created%3A([\d-]+)", page.evaluate("document.activeElement.href"))[1]
    page.keyboard.press("Enter")
    expect(page.locator("#activity-q")).to_have_value(f"type:task created:{day}")
    expect(page).to_have_url(re.compile(rf"q=type%3Atask\+created%3A{day}$"))
    assert console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_phone_shows_the_chart_without_sideways_scroll(browser, live_server, scheme):
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, live_server, "owner@example.com")
        for path in ("/stream/logins", "/stream/activity?q=created:2026-01-01..2026-01-02"):
            page.goto(f"{live_server}{path}")
            chart = page.locator("#feed-chart")
            expect(chart).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
            box = chart.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], path
            widths = page.locator("#feed-chart .chart-links a").evaluate_all(
                "links => links.map(link => link.getBoundingClientRect().width)"
            )
            assert min(widths) > 5, widths  # 48 hours still leave each bar a hit target
            assert chart_violations(page) == [], path
        # The bars stand out of the page in both schemes (on a list that has some).
        page.goto(f"{live_server}/stream/logins")
        bar = page.locator("#feed-chart .chart-bar")
        assert bar.count() > 0
        fill = bar.first.evaluate("(e) => getComputedStyle(e).fill")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert fill != background
    finally:
        context.close()
