"""The Email tab in a real browser: an action in one browser shows up on the Email tab open in
another, queued then sent (a real huey consumer, a real SMTP server), and See Message opens in
place with the message in its sandboxed frame."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BIN
from tests.browser.conftest import ROOT
from tests.browser.conftest import Server
from tests.browser.conftest import _server_env
from tests.browser.conftest import gunicorn
from tests.browser.conftest import open_tab
from tests.browser.conftest import sign_in
from tests.conftest import stop_process


@pytest.fixture
def mail_server(request, seeded_database, smtp_server):
    """Serve a private copy of the seeded database with mail going to ``smtp_server``; no
    consumer runs until the test starts one (``server.start_consumer()``)."""
    consumers = []
    with tempfile.TemporaryDirectory(prefix="activity-stream-mail-") as tmp:
        shutil.copy(seeded_database, Path(tmp) / "stream.db")
        env = _server_env(tmp)
        env.update(
            ACTIVITY_STREAM_SMTP_URL=smtp_server.url, ACTIVITY_STREAM_EMAIL_RETRY_SECONDS="1"
        )
        with gunicorn(tmp, env) as (base_url, log_path):
            server = Server(base_url, env)

            def start_consumer():
                consumers.append(
                    subprocess.Popen(
                        [
                            str(BIN / "huey_consumer"),
                            "wsgi.huey",
                            "-k",
                            "thread",
                            "-w",
                            "1",
                            "-d",
                            "0.05",
                            "-m",
                            "0.2",
                            "-q",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )

            server.start_consumer = start_consumer
            try:
                yield server
            finally:
                for consumer in consumers:
                    stop_process(consumer)
                report = getattr(request.node, "rep_call", None)
                if report is not None and report.failed:
                    print(f"\n--- gunicorn log ({base_url}) ---\n{log_path.read_text()}")


def test_a_notification_appears_queued_then_sent_and_opens_in_place(
    page, other_page, mail_server, smtp_server, console_errors
):
    open_tab(page, mail_server, "email")
    before = page.locator("[data-row-id]").count()
    assert before > 0  # the demo's messages

    # In another browser, the Project Manager assigns a task to Dana Scully.
    sign_in(other_page, mail_server, "pm@example.com")
    other_page.goto(f"{mail_server}/workspace/tasks/new")
    other_page.fill("input[name=title]", "Journey task")
    other_page.locator("fieldset.checks label", has_text="Dana Scully").locator("input").check()
    with other_page.expect_navigation():
        other_page.click("form.form button[type=submit]")
    expect(other_page.locator("h1")).to_contain_text("Journey task")

    # The open tab announces it (the "N new" poll), and shows it queued: no consumer runs yet.
    banner = page.locator("#new-events a")
    # (Sign-in notices may arrive too: the Project Manager just signed in.)
    expect(banner).to_contain_text(re.compile(r"\d+ new messages?"), timeout=20_000)
    banner.click()
    row = page.locator("[data-row-id]", has_text="Task assigned to you: Journey task")
    expect(row).to_have_count(1)
    expect(row.locator(".email-status")).to_have_text("Queued")
    expect(row.locator(".email-to")).to_have_text("Dana Scully")

    # Once a consumer runs, the row turns to Sent by itself, without a reload.
    mail_server.start_consumer()
    expect(row.locator(".email-status")).to_have_text("Sent", timeout=20_000)
    assert page.evaluate("window.__marker") == 42, "the page was reloaded"

    # See Message opens in place: the frame shows the message as received.
    row.locator("summary", has_text="See Message").click()
    frame = row.locator("iframe.email-frame")
    expect(frame).to_be_visible()
    assert frame.get_attribute("sandbox") == ""
    expect(
        page.frame_locator(f"[data-row-id='{row.get_attribute('data-row-id')}'] iframe").locator(
            "body"
        )
    ).to_contain_text("assigned you the task")
    headers = row.locator(".email-headers")
    message_id = headers.locator("tr", has_text="Message-ID").locator("td").text_content().strip()
    received = [m for m in smtp_server.messages() if m["Message-ID"] == message_id]
    assert len(received) == 1, (message_id, [m["Message-ID"] for m in smtp_server.messages()])
    assert received[0]["Subject"] == "Task assigned to you: Journey task"
    to_dana = [e.rcpt_tos for e in smtp_server.received if b"Journey task" in e.original_content]
    assert to_dana == [["teammate@example.com"]]
    assert page.evaluate("window.__marker") == 42
    assert console_errors == []
    assert re.search(r"/stream/email$", page.url)
