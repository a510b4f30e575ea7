"""A large export, as a person makes one: the Export link, the offer, the job's progress
written by a real huey consumer, the download; by keyboard, on a phone in dark mode too."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BIN
from tests.browser.conftest import ROOT
from tests.browser.conftest import _server_env
from tests.browser.conftest import gunicorn
from tests.browser.conftest import sign_in
from tests.conftest import stop_process

THRESHOLD = 50  # the demo's Activity tab lists a few hundred events


@pytest.fixture
def server_and_consumer(seeded_database):
    """Serve a copy of the seeded database with a low background threshold, and run the task
    consumer on it; yield the base URL."""
    with tempfile.TemporaryDirectory(prefix="activity-stream-export-") as tmp:
        shutil.copy(seeded_database, Path(tmp) / "stream.db")
        env = _server_env(tmp)
        env["ACTIVITY_STREAM_EXPORT_BACKGROUND_ROWS"] = str(THRESHOLD)
        env["ACTIVITY_STREAM_EXPORT_BATCH_ROWS"] = "7"  # many chunks
        consumer = subprocess.Popen(
            [str(BIN / "huey_consumer"), "wsgi.huey", "-w", "1", "-k", "thread", "-q"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with gunicorn(tmp, env) as (base_url, _log):
                yield base_url
        finally:
            stop_process(consumer)


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (390, "dark")])
def test_a_large_export_is_prepared_then_downloaded(browser, server_and_consumer, width, scheme):
    base_url = server_and_consumer
    context = browser.new_context(
        viewport={"width": width, "height": 850}, color_scheme=scheme, accept_downloads=True
    )
    page = context.new_page()
    try:
        sign_in(page, base_url, "owner@example.com")
        page.goto(f"{base_url}/stream/activity")
        page.locator("a[data-export-format=jsonl]").first.focus()
        page.keyboard.press("Enter")
        prepare = page.get_by_role("button", name="Prepare the export")
        expect(prepare).to_be_visible()
        assert f"more than {THRESHOLD} events" in page.text_content("main")
        prepare.focus()
        page.keyboard.press("Enter")
        ready = page.get_by_role("status").filter(has_text="Ready:")
        expect(ready).to_be_visible(timeout=30_000)  # written by the consumer, polled
        rows = int(ready.text_content().split()[1].replace(",", ""))
        assert rows > THRESHOLD
        link = page.get_by_role("link", name="Download")
        link.focus()
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        lines = Path(download.value.path()).read_text("utf-8").splitlines()
        assert len(lines) == rows
        ids = [json.loads(line)["id"] for line in lines]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == rows
        # The link is the asker's alone: another person gets the same 404 as for no export.
        job_url = page.url
        other = browser.new_context()
        try:
            other_page = other.new_page()
            sign_in(other_page, base_url, "admin@example.com")
            answer = other_page.goto(job_url + "/file")
            assert answer.status == 404
        finally:
            other.close()
    finally:
        context.close()
