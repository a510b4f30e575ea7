"""Search suggestions, in real Chromium: the box is an ARIA combobox offering the keys that
start with the word typed and, after a key, the values the filter bar's own controls offer;
keyboard and mouse take one; a value taken searches at once; a viewer is never offered a
value their controls do not show (a Teammate has no team control, so no team names)."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import open_tab
from tests.browser.conftest import run_in_app
from tests.browser.conftest import sign_in


def suggestions(page):
    return page.locator(".suggestions [role=option]")


def test_keys_then_values_by_keyboard_and_the_search_runs(page, live_server):
    open_tab(page, live_server, "activity")
    box = page.locator("#activity-q")
    expect(box).to_have_attribute("role", "combobox")
    box.click()
    box.press_sequentially("ac")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(suggestions(page)).to_have_text([re.compile(r"^actor:"), re.compile(r"^action:")])
    box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    expect(page.locator(f"#{active}")).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("actor:")
    # After a key: that key's values, as the Person control names them.
    expect(suggestions(page).first).to_be_visible()
    names = page.locator("#activity-actor option[data-term]").all_inner_texts()
    offered = suggestions(page).all_inner_texts()
    assert offered and all(any(text.startswith(name) for name in names) for text in offered)
    box.press_sequentially("mor")
    expect(suggestions(page)).to_have_count(
        len([n for n in names if any(w.lower().startswith("mor") for w in n.split())])
    )
    box.press("ArrowDown")
    chosen = page.locator(f"#{box.get_attribute('aria-activedescendant')} span").first.inner_text()
    box.press("Enter")
    expect(page).to_have_url(re.compile("q=actor%3A%22" + chosen.replace(" ", "%20") + "%22$"))
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#activity-actor")).to_have_value(re.compile(r"\d+"))


def test_escape_closes_and_enter_without_a_choice_searches_what_was_typed(page, live_server):
    open_tab(page, live_server, "activity")
    box = page.locator("#activity-q")
    box.click()
    box.press_sequentially("type:")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".suggestions")).to_be_hidden()
    box.fill("Initech")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"q=Initech"))


def test_a_click_takes_a_value_and_an_exclusion_keeps_its_minus(page, live_server):
    open_tab(page, live_server, "logins")
    box = page.locator("#logins-q")
    box.click()
    box.press_sequentially("-outcome:")
    first = suggestions(page).first
    expect(first).to_be_visible()
    first.click()
    expect(box).to_have_value(re.compile(r"^-outcome:\S+ ?$"))
    expect(page).to_have_url(re.compile(r"q=-outcome"))


def test_a_teammate_is_offered_no_team_names(page, fresh_server):
    run_in_app(
        fresh_server,
        """
from plugins.settings.models import TabGrant
from core.people import Role
TabGrant.create(tab="activity", role=Role.get(Role.name == "Teammate"))
""",
    )
    sign_in(page, fresh_server, "teammate@example.com")
    page.goto(f"{fresh_server}/stream/activity")
    box = page.locator("#activity-q")
    box.click()
    box.press_sequentially("te")
    expect(suggestions(page)).to_have_count(0)  # no team: key for a Teammate
    box.fill("")
    box.press_sequentially("team:")
    box.press("ArrowDown")
    assert page.locator("#activity-team").count() == 0
    expect(suggestions(page)).to_have_count(0)
    box.fill("")
    box.press_sequentially("act")
    expect(suggestions(page).first).to_be_visible()
