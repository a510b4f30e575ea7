"""Verify integrity, as an admin does it: the run waits for the task queue, shows its progress
(polled), then the report written by a real huey consumer; by keyboard, on a slow network, on
a phone in dark mode too; and without JavaScript."""

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BIN
from tests.browser.conftest import ROOT
from tests.browser.conftest import _run
from tests.browser.conftest import _server_env
from tests.browser.conftest import gunicorn
from tests.browser.conftest import sign_in
from tests.conftest import stop_process


@pytest.fixture
def sealed_server(seeded_database):
    """Serve a sealed copy of the seeded database, no consumer yet; yield the URL and a
    function starting the consumer (stopped at the end)."""
    with tempfile.TemporaryDirectory(prefix="activity-stream-integrity-") as tmp:
        shutil.copy(seeded_database, Path(tmp) / "stream.db")
        env = _server_env(tmp)
        _run([str(BIN / "flask"), "--app", "wsgi", "stream", "seal"], env)
        consumers = []

        def start_consumer():
            command = [str(BIN / "huey_consumer"), "wsgi.huey", "-w", "1", "-k", "thread", "-q"]
            consumers.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

        try:
            with gunicorn(tmp, env) as (base_url, _log):
                yield base_url, start_consumer
        finally:
            for consumer in consumers:
                stop_process(consumer)


@contextmanager
def slow_network(context, page):
    """Make ``page``'s network slow (400 ms a round trip, some 50 KB/s) for the block."""
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 400,
            "downloadThroughput": 50_000,
            "uploadThroughput": 20_000,
        },
    )
    yield


def wider_than_the_window(page, selector):
    """Return the elements of ``selector`` reaching past the window's right edge."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth)
            .map((el) => el.outerHTML.slice(0, 80))""",
        selector,
    )


def focused_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_a_verification_runs_in_the_background_then_shows_its_report(
    browser, sealed_server, width, scheme
):
    base_url, start_consumer = sealed_server
    context = browser.new_context(viewport={"width": width, "height": 850}, color_scheme=scheme)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, base_url, "admin@example.com")
        with slow_network(context, page):
            page.goto(f"{base_url}/stream/settings")
            section = page.locator("#integrity")
            page.locator("#integrity-heads-given").focus()
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Verify integrity"
            page.keyboard.press("Enter")
            waiting = section.get_by_role("status").filter(has_text="Verifying…")
            expect(waiting).to_contain_text("0 records checked (waiting for its turn)")
            expect(section.locator("progress")).to_have_attribute("value", "0")
            expect(section.get_by_role("button", name="Verify integrity")).to_have_count(0)
            assert focused_id(page) == "integrity-verify-now"  # the focus follows the run
            start_consumer()
            report = section.locator(".integrity-report")
            expect(report).to_contain_text("Intact.", timeout=30_000)  # polled
            assert focused_id(page) == "integrity-verify-now"  # and lands on the report
            expect(section.get_by_role("button", name="Verify integrity")).to_be_visible()
            assert page.locator("#integrity-verify[hx-trigger]").count() == 0  # polling stopped
            assert wider_than_the_window(page, "#integrity *") == []
        assert errors == []
    finally:
        context.close()


def test_without_javascript_settings_shows_the_run(browser, sealed_server):
    base_url, start_consumer = sealed_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, base_url, "owner@example.com")
        page.goto(f"{base_url}/stream/settings")
        page.get_by_role("button", name="Verify integrity").click()
        assert page.url.endswith("/stream/settings#integrity")
        section = page.locator("#integrity")
        expect(section).to_contain_text("Verifying… 0 records checked")
        follow = section.get_by_role("link", name="See how far it is")
        expect(follow).to_be_visible()
        start_consumer()
        for _ in range(60):  # the person reloads until it is done
            if section.locator(".integrity-report").count():
                break
            page.wait_for_timeout(500)
            follow.click()
        expect(section.locator(".integrity-report")).to_contain_text("Intact.")
    finally:
        context.close()
