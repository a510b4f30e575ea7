"""The sign-in log in people's words: systems as people name them, waits in minutes or hours,
a lock's end in the reader's time zone (rows, detail, exports, the lock notice)."""

import hashlib
import re
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.auth import signins
from core.auth.clients import agent_families
from core.auth.clients import describe_client
from core.auth.clients import pair_of
from core.auth.clients import parse_user_agent
from core.auth.clients import readable_os
from core.auth.signins import SignInAttempt
from core.auth.signins import record_sign_in_attempt
from core.db import database
from core.people import User
from plugins.logins.words import readable_detail
from plugins.logins.words import wait_words
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.plugins.test_logins import Outbox
from tests.plugins.test_logins import lock

SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
CHROME_OLD_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36"
)
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    "agent, expected",
    [
        (SAFARI_MAC, ("Safari 17", "macOS 14", "Mac")),
        (CHROME_OLD_MAC, ("Chrome 120", "macOS 10.15", "Mac")),
        (CHROMEBOOK, ("Chrome 120", "ChromeOS", "")),
        (WINDOWS, ("Chrome 126", "Windows 10", "")),
    ],
)
def test_a_system_is_named_as_people_name_it(agent, expected):
    assert parse_user_agent(agent) == expected


def test_a_known_browser_stays_known_whatever_its_system_is_called():
    # The pair behind "a browser that signed in here before" hashes the parser's families:
    # renaming the label must not make every Mac a stranger.
    assert agent_families(SAFARI_MAC) == ("Safari", "Mac OS X", "Mac")
    text = "\n".join(("81.2.69.160", "Safari", "Mac OS X", "Mac"))
    assert pair_of("81.2.69.160", SAFARI_MAC) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "recorded, shown",
    [
        ("Mac OS X 14", "macOS 14"),
        ("Mac OS X", "macOS"),
        ("Chrome OS 14541", "ChromeOS"),
        ("macOS 14", "macOS 14"),
        ("Windows 10", "Windows 10"),
        ("Mac OS Xylophone", "Mac OS Xylophone"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_recorded_system_reads_as_people_name_it(recorded, shown):
    assert readable_os(recorded) == shown


def test_a_client_label_names_the_system_as_people_do():
    assert describe_client("81.2.69.160", SAFARI_MAC).label == "Safari 17 on macOS 14"


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (40, "40 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (840, "14 minutes"),
        (897, "15 minutes"),
        (3599, "60 minutes"),
        (5400, "2 hours"),
        (7200, "2 hours"),
        (21600, "6 hours"),
        (86400, "24 hours"),
        (3 * 86400, "3 days"),
    ],
)
def test_a_wait_reads_in_the_unit_people_use(seconds, words):
    assert wait_words(seconds) == words


def test_a_detail_reads_in_words_and_in_the_readers_zone():
    refused = "refused by the account limit, retry after 897 s"
    assert (
        readable_detail(refused) == "refused by the account limit, told to try again in 15 minutes"
    )
    lock_row = (
        "account limit, 5 failures in 15 min: locked for 15 min (lock 1), "
        "until 2026-12-05 03:41:59 UTC"
    )
    berlin = readable_detail(lock_row, ZoneInfo("Europe/Berlin"))
    assert berlin.endswith("until 2026-12-05 04:41:59 CET")
    assert readable_detail(lock_row).endswith("until 2026-12-05 03:41:59 UTC")
    assert readable_detail("account x unlocked by Ann") == "account x unlocked by Ann"


def _set_zone(app, email, zone):
    with app.app_context():
        User.update(time_zone=zone).where(User.email == email).execute()


def _row_of(page, row_id):
    (row,) = [r for r in page.split("<li ")[1:] if f'data-row-id="{row_id}"' in r]
    return row


def test_a_lock_row_tells_its_end_in_the_zone_of_the_rest_of_the_row(app, client, people):
    _set_zone(app, "admin@example.com", "Europe/Berlin")
    lock_id = lock(app, app.test_client())  # five wrong passwords lock the name
    refused = app.test_client()
    assert sign_in(refused, "pm@example.com").status_code == 401  # refused by the lock
    with app.app_context():
        recorded = SignInAttempt.get_by_id(lock_id).detail
        refusal = SignInAttempt.get(SignInAttempt.outcome == signins.LOCKED)
    until = re.search(r"until (\S+ \S+) UTC", recorded)  # the record keeps its words
    assert until and "retry after" in refusal.detail
    moment = datetime.strptime(until[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    in_berlin = moment.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M:%S %Z")
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/logins").text
    row = _row_of(page, lock_id)
    assert f"until {in_berlin}" in row and " UTC<" not in row.split("title=")[0]
    assert re.search(r"<time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CET</time>", row)
    wait = _row_of(page, refusal.id)
    assert "retry after" not in wait and re.search(r"told to try again in \d+ minutes", wait)
    detail = client.get(f"/stream/logins/{lock_id}").text
    assert f"until {in_berlin}" in detail and "UTC</dd>" not in detail
    exported = client.get(f"/stream/logins/export?format=jsonl&outcome={signins.LOCKED}").text
    assert "retry after" not in exported and "told to try again in" in exported


def test_a_row_recorded_with_the_old_system_name_reads_the_new_one(app, client, people):
    # Rows recorded before the rename keep "Mac OS X 14": the record is not rewritten.
    old = replace(describe_client("81.2.69.160", SAFARI_MAC), os="Mac OS X 14")
    with app.app_context(), database.atomic():
        row = record_sign_in_attempt("nobody@example.com", None, signins.UNKNOWN_USER, old)
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/logins").text
    assert "Safari 17 on macOS 14" in _row_of(page, row.id) and "Mac OS X" not in page
    assert "Safari 17 on macOS 14" in client.get(f"/stream/logins/{row.id}").text
    exported = client.get("/stream/logins/export?format=jsonl&q=nobody").text
    assert '"os": "macOS 14"' in exported


def test_the_lock_notice_tells_the_end_in_the_zone_it_is_given(make_app):
    outbox = Outbox()
    app = make_app(plugins=[outbox], PLUGINS_DISABLED="email")
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()
    attacker = app.test_client()
    for _ in range(5):
        attacker.post(
            "/login",
            data={
                "email": "pm@example.com",
                "password": "wrong-password",
                "csrf_token": csrf_token_of(attacker),
            },
            headers={"User-Agent": SAFARI_MAC},
        )
    (notice,) = [n for n in outbox.sent if n.kind == "login.locked"]
    until = notice.context["until"].replace(tzinfo=UTC)
    tokyo = until.astimezone(ZoneInfo("Asia/Tokyo"))
    with app.app_context():
        recipient = User.get(User.email == "pm@example.com")

        def render(name, **more):
            context = {**notice.context, "recipient": recipient, **more}
            return app.jinja_env.get_template(name).render(**context)

        for name in ("logins/locked.txt", "logins/locked.html"):
            zoned = render(name, zone=ZoneInfo("Asia/Tokyo"))
            assert f"{tokyo:%Y-%m-%d %H:%M} JST" in zoned and "UTC" not in zoned
            assert f"{until:%Y-%m-%d %H:%M} UTC" in render(name, zone=None)  # none: UTC, named
        # The notice is given the recipient's own zone.
        assert str(notice.context["zone"]) == recipient.time_zone
        mine = until.astimezone(ZoneInfo(recipient.time_zone))
        assert f"{mine:%Y-%m-%d %H:%M %Z}" in render("logins/locked.txt")
        assert "Safari 17 on macOS 14" in render("logins/locked.txt")


def _field_labels(html):
    """Return the text of every ``<label>`` of the filter form, in order (a label's own
    words, without its control's options)."""
    start = html.index('<form class="filters"')
    form = html[start : html.index("</form>", start)]
    labels = re.findall(r"<label[^>]*>(.*?)(?:<input|<select)", form, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", label).split()) for label in labels]


def test_every_field_of_the_email_filters_has_a_name_of_its_own(app, client, login):
    login("admin@example.com")
    labels = _field_labels(client.get("/stream/email").text)
    assert labels == [
        "Search",
        "Sender",
        "Recipient",
        "Kind",
        "Status",
        "Delivery",
        "From date",
        "To date",
    ]
    page = client.get("/stream/email?from=2026-12-01&to=2026-12-03").text
    assert 'id="email-from" name="from" value="2026-12-01"' in page
    assert 'id="email-to" name="to" value="2026-12-03"' in page


def test_an_unlock_reads_in_words_on_the_activity_tab(app, client, people):
    lock_id = lock(app, app.test_client())
    assert sign_in(client, "admin@example.com").status_code == 302
    unlocked = client.post(
        f"/stream/logins/{lock_id}/unlock",
        data={"csrf_token": csrf_token_of(client)},
        headers={"HX-Request": "true"},
    )
    assert unlocked.status_code == 200
    page = client.get("/stream/activity").text
    sentence = '<strong>Avery Chen</strong> <span class="badge">Admin</span> lifted the lock of'
    # The account as the summary names it (the Activity tab may add the person's name).
    assert re.search(rf"{re.escape(sentence)} account [^<]*pm@example\.com", page)
    assert "unlocked User" not in page


def test_the_notices_kinds_are_named_in_words_for_a_list_of_mail(app):
    # Declared for the host to ask (optional until it declares the hook): start-up accepts it.
    answers = app.extensions["plugin_manager"].hook.notification_kinds()
    assert {
        "login.new_client": "New browser or country",
        "login.locked": "Sign-in locked",
    } in answers
