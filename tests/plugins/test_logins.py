"""The Logins tab: rows of the sign-in log, scoped in SQL, filtered from the URL, paged, and
Unlock for owners and admins."""

import re

import pytest

from core import hookimpl
from core.auth import signins
from core.auth.clients import describe_client
from core.auth.signins import SignInAttempt
from core.auth.signins import record_sign_in_attempt
from core.auth.signins import record_sign_in_attempts
from core.db import database
from core.demo import seed_people
from core.events import ActivityEvent
from core.listing.sql import newest_ids
from core.listing.sql import newest_of
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.settings.models import TabGrant
from tests.conftest import SIGN_IN_CANARY as CANARY
from tests.conftest import csrf_token_of
from tests.conftest import rows_seen_by
from tests.conftest import sign_in
from tests.core.test_signins import FIREFOX
from tests.core.test_signins_throttle import CHROME
from tests.core.test_signins_throttle import browser_at

ROW_ID = re.compile(r'data-row-id="(\d+)"')


def record(app, email, outcome, user=None, ip="81.2.69.160", **extra):
    """Record one row as the recorder does; return its id."""
    with app.app_context(), database.atomic():
        client = describe_client(ip, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0")
        return record_sign_in_attempt(email, user, outcome, client, **extra).id


def grant_logins_to(app, role_name):
    with app.app_context():
        TabGrant.create(tab="logins", role=Role.get(Role.name == role_name))


def test_the_tab_shows_each_row_with_its_outcome_place_and_browser(app, client, people):
    record(app, "nobody@example.com", signins.UNKNOWN_USER)
    sign_in(client, "admin@example.com", CANARY)
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/logins")
    assert page.status_code == 200
    html = page.text
    assert html.count('class="row login-row"') == 3
    for text in (
        "Signed in",
        "Wrong password",
        "Unknown user",
        "81.2.69.160 (GB)",
        "Firefox 128 on Linux",
        "127.0.0.1 (loopback)",
        "after 1 failure",
    ):
        assert text in html, text
    assert CANARY not in html


def test_a_related_viewer_sees_their_own_and_their_teams_rows_only(app, people):
    grant_logins_to(app, "Teammate")
    teammate, fox = people["teammate@example.com"], people["fox@example.com"]  # both Delivery
    mine = record(app, teammate.email, signins.WRONG_PASSWORD, teammate)
    teams = record(app, fox.email, signins.WRONG_PASSWORD, fox)
    other = record(app, "sales@example.com", signins.WRONG_PASSWORD, people["sales@example.com"])
    unknown = record(app, "nobody@example.com", signins.UNKNOWN_USER)
    seen = rows_seen_by(app, teammate.email, "logins")
    assert mine in seen and teams in seen
    assert other not in seen and unknown not in seen
    filtered = rows_seen_by(app, teammate.email, "logins", outcome="wrong_password")
    assert set(filtered) == {mine, teams}
    everything = rows_seen_by(app, "admin@example.com", "logins")
    assert {mine, teams, other, unknown} <= set(everything)


def test_a_viewer_whose_teams_hold_hundreds_of_people_sees_their_rows(app, people):
    # One arm a person: 600 arms, more than SQLite takes in one compound SELECT (500).
    grant_logins_to(app, "Teammate")
    teammate = people["teammate@example.com"]
    with app.app_context(), database.atomic():
        delivery = Team.get(Team.name == "Delivery")
        role = Role.get(Role.name == "Teammate")
        crew = [
            {"name": f"Crew {n}", "email": f"crew{n}@example.com", "role": role} for n in range(600)
        ]
        User.insert_many(crew).execute()
        crew = list(User.select().where(User.email.startswith("crew")).order_by(User.id))
        TeamMembership.insert_many([{"user": user, "team": delivery} for user in crew]).execute()
    theirs = {record(app, user.email, signins.WRONG_PASSWORD, user) for user in crew[::150]}
    other = record(app, "sales@example.com", signins.WRONG_PASSWORD, people["sales@example.com"])
    seen = set(rows_seen_by(app, teammate.email, "logins"))
    assert theirs <= seen and other not in seen


def test_a_union_of_arms_for_no_one_reads_no_row(app, people):
    sales = people["sales@example.com"]
    mine = record(app, sales.email, signins.WRONG_PASSWORD, sales)
    with app.app_context(), app.test_request_context():

        def arm(user_id):
            query = SignInAttempt.select(SignInAttempt.id).where(SignInAttempt.user_id == user_id)
            return newest_ids(query, SignInAttempt.id, None, None, 10)

        def ids(users):
            condition = newest_of(SignInAttempt.id, (arm, users))
            return [row.id for row in SignInAttempt.select().where(condition)]

        assert ids([sales.id]) == [mine]
        assert ids([]) == []


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"outcome": "unknown_user"}, {"nobody"}),
        ({"ip": "8.8.8.8"}, {"pm-us"}),
        ({"country": "de"}, {"pm-de"}),
        ({"q": "nobody"}, {"nobody"}),
        ({"user": "PM", "outcome": "wrong_password"}, {"pm-us", "pm-de"}),
        ({"from": "2000-01-01", "to": "2000-01-02"}, set()),
    ],
)
def test_filters_narrow_the_rows(app, client, login, people, query, expected):
    pm = people["pm@example.com"]
    ids = {
        "nobody": record(app, "nobody@example.com", signins.UNKNOWN_USER),
        "pm-us": record(app, pm.email, signins.WRONG_PASSWORD, pm, ip="8.8.8.8"),
        "pm-de": record(app, pm.email, signins.WRONG_PASSWORD, pm, ip="2a00:1450:4001::1"),
    }
    login("admin@example.com")
    query = {key: (str(pm.id) if value == "PM" else value) for key, value in query.items()}
    page = client.get("/stream/logins", query_string=query)
    assert page.status_code == 200
    seen = {int(value) for value in ROW_ID.findall(page.text)}
    assert seen & set(ids.values()) == {ids[name] for name in expected}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"outcome": "hacked"}, "outcome"),
        ({"ip": "1.2.3"}, "ip"),
        ({"user": "x"}, "user"),
        ({"country": "D-E"}, "country"),
        ({"from": "2026-13-01"}, "from"),
        ({"after": "-1"}, "after"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(client, login, query, field):
    login("admin@example.com")
    response = client.get("/stream/logins", query_string=query)
    assert response.status_code == 400
    assert f"{field}:" in response.text


def test_rows_page_by_cursor_and_the_banner_counts_new_ones(app, client, login):
    login("admin@example.com")
    with app.app_context():
        rows = [
            signins.build_attempt(f"u{n}@example.com", None, signins.UNKNOWN_USER)
            for n in range(120)
        ]
        with database.atomic():
            record_sign_in_attempts(rows)
    page = client.get("/stream/logins")
    first = [int(value) for value in ROW_ID.findall(page.text)]
    assert len(first) == 50
    next_url = re.search(r'hx-get="([^"]*/stream/logins/rows\?[^"]*)"', page.text).group(1)
    more = client.get(next_url.replace("&amp;", "&"), headers={"HX-Request": "true"})
    second = [int(value) for value in ROW_ID.findall(more.text)]
    assert len(second) == 50 and max(second) < min(first)
    record(app, "late@example.com", signins.UNKNOWN_USER)
    banner = client.get(f"/stream/logins/new?since={first[0]}", headers={"HX-Request": "true"})
    assert "1 new sign-in record" in banner.text


def lock(app, client, email="pm@example.com"):
    """Lock ``email`` through the form; return the lock row's id."""
    for _ in range(5):
        sign_in(client, email, CANARY)
    with app.app_context():
        row = SignInAttempt.get(SignInAttempt.outcome == signins.ACCOUNT_LOCKED)
        return row.id


def test_an_admin_unlocks_an_account_from_its_lock_row(app, client, people):
    attacker = app.test_client()
    lock_id = lock(app, attacker)
    assert sign_in(attacker, "pm@example.com").status_code == 401
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/logins").text
    assert f'action="/stream/logins/{lock_id}/unlock"' in page
    response = client.post(
        f"/stream/logins/{lock_id}/unlock",
        data={"csrf_token": csrf_token_of(client)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f'data-row-id="{lock_id}"' in response.text and 'class="unlock"' not in response.text
    assert sign_in(app.test_client(), "pm@example.com").status_code == 302
    with app.app_context():
        unlocked = SignInAttempt.get(SignInAttempt.outcome == signins.UNLOCKED)
        assert "unlocked by Avery Chen" in unlocked.detail
        event = ActivityEvent.get(ActivityEvent.verb == "login.unlocked")
        assert (event.actor_name, event.object_id) == (
            "Avery Chen",
            str(people["pm@example.com"].id),
        )


def test_only_owners_and_admins_unlock_and_only_lock_rows(app, client, people):
    grant_logins_to(app, "Project Manager")
    lock_id = lock(app, app.test_client(), "teammate@example.com")
    grace = app.test_client()  # a Project Manager in Delivery sees the Teammate's rows
    assert sign_in(grace, "grace@example.com").status_code == 302
    refused = grace.post(
        f"/stream/logins/{lock_id}/unlock", data={"csrf_token": csrf_token_of(grace)}
    )
    assert refused.status_code == 403
    assert sign_in(client, "admin@example.com").status_code == 302
    first_failure = lock_id - 5
    wrong_row = client.post(
        f"/stream/logins/{first_failure}/unlock", data={"csrf_token": csrf_token_of(client)}
    )
    assert wrong_row.status_code == 400 and "record:" in wrong_row.text


def lock_through_the_form(app, kind):
    """Lock one limit of ``kind`` (account, client or ip) through the form, from addresses
    other than the admin's; return ``(lock row id, a client the lock holds, its email)``."""
    if kind == "account":  # a stranger's failures lock the name for unknown browsers
        held, email = browser_at(app, "203.0.113.9", CHROME), "pm@example.com"
        for _ in range(5):
            sign_in(held, email, CANARY)
    elif kind == "client":  # the user's own known browser fails on its own key
        held, email = browser_at(app, "81.2.69.160", FIREFOX), "pm@example.com"
        assert sign_in(held, email).status_code == 302
        for _ in range(5):
            sign_in(held, email, CANARY)
    else:  # a spray over many names locks the address
        held, email = browser_at(app, "8.8.8.8", CHROME), "office@example.com"
        for number in range(3):
            sign_in(held, f"guess{number}@example.com", CANARY)
    with app.app_context():
        row = SignInAttempt.get(SignInAttempt.outcome == f"{kind}_locked")
    assert sign_in(held, email).status_code == 401
    return row.id, held, email


@pytest.mark.parametrize(
    "kind, limit, button",
    [
        ("account", "Account limit", "Unlock account"),
        ("client", "Account limit of one known browser", "Unlock browser"),
        ("ip", "IP limit", "Unlock IP"),
    ],
)
def test_a_lock_row_says_its_limit_and_an_admin_lifts_it(make_app, kind, limit, button):
    app = make_app(LOCK_IP_LIMIT=3 if kind == "ip" else 50)
    with app.app_context(), database.atomic():
        seed_people()
    admin = app.test_client()
    assert sign_in(admin, "admin@example.com").status_code == 302
    lock_id, held, email = lock_through_the_form(app, kind)
    page = admin.get("/stream/logins").text
    (row,) = [r for r in page.split("<li ")[1:] if f'data-row-id="{lock_id}"' in r]
    assert f'<span class="hint login-limit">{limit}</span>' in row
    assert f">{button}</button>" in row
    assert "failures in 15 min" in row  # the detail names the limit with its numbers
    response = admin.post(
        f"/stream/logins/{lock_id}/unlock",
        data={"csrf_token": csrf_token_of(admin)},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f'data-row-id="{lock_id}"' in response.text and 'class="unlock"' not in response.text
    assert sign_in(held, email).status_code == 302
    with app.app_context():
        unlocked = SignInAttempt.get(SignInAttempt.outcome == signins.UNLOCKED)
        assert unlocked.detail.endswith("unlocked by Avery Chen")
        assert ActivityEvent.get(ActivityEvent.verb == "login.unlocked")


class Outbox:
    """A plugin implementing ``send_notification`` that keeps what it was asked to send."""

    def __init__(self):
        self.sent = []

    @hookimpl
    def send_notification(self, notification):
        self.sent.append(notification)
        return [len(self.sent)]


def test_the_user_hears_of_a_lock_and_of_a_new_browser(make_app):
    outbox = Outbox()
    app = make_app(plugins=[outbox], PLUGINS_DISABLED="email", TRUSTED_PROXIES=1)
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()
    lock(app, app.test_client())
    assert [(n.kind, n.template, n.recipients[0].email) for n in outbox.sent] == [
        ("login.locked", "logins/locked", "pm@example.com")
    ]
    home, abroad = app.test_client(), app.test_client()
    assert sign_in(home, "office@example.com").status_code == 302  # a first sign-in: no mail
    abroad.get("/login", headers={"X-Forwarded-For": "81.2.69.160"})
    response = abroad.post(
        "/login",
        data={
            "email": "office@example.com",
            "password": "demo-password",
            "csrf_token": csrf_token_of(abroad),
        },
        headers={"X-Forwarded-For": "81.2.69.160"},
    )
    assert response.status_code == 302
    assert outbox.sent[-1].kind == "login.new_client"
    assert outbox.sent[-1].context["flags"] == ["new IP", "new country"]
    with app.app_context():
        text = app.jinja_env.get_template("logins/new_client.txt").render(
            recipient=outbox.sent[-1].recipients[0], **outbox.sent[-1].context
        )
    assert "(GB)" in text and "new country" in text


def test_the_demo_history_covers_a_month_and_every_kind_and_seeds_once(app, people):
    from plugins.logins.demo import seed_history

    with app.app_context():
        seed_history()
        count = SignInAttempt.select().count()
        seed_history()
        assert SignInAttempt.select().count() == count > 100
        kinds = {row.outcome for row in SignInAttempt.select(SignInAttempt.outcome)}
        assert {
            "signed_in",
            "wrong_password",
            "unknown_user",
            "account_locked",
            "locked",
            "unlocked",
            "signed_out",
            "session_expired",
        } <= kinds
        countries = {row.country for row in SignInAttempt.select(SignInAttempt.country)}
        assert {"GB", "DE", "US", "private"} <= countries
        oldest = SignInAttempt.select().order_by(SignInAttempt.attempted_at).first()
        assert (
            SignInAttempt.select().order_by(SignInAttempt.id.desc()).first().attempted_at
            - oldest.attempted_at
        ).days >= 28


def test_people_words_find_what_they_mean(app, people):
    """``outcome:failed`` means every failure, ``country:Germany`` the code DE; the bar's
    controls follow, and an unknown word is still refused naming what is accepted."""
    from werkzeug.datastructures import MultiDict

    from core.auth.signins import FAILURES
    from plugins.logins.filters import FILTERS

    with app.app_context():
        viewer = people["owner@example.com"]
        failed = FILTERS.read(MultiDict({"q": "outcome:failed"}), viewer)
        assert failed.refusal is None
        assert sorted(failed.outcomes) == sorted(FAILURES)
        assert failed.controls()["outcome"] == "failed"
        by_param = FILTERS.read(MultiDict({"outcome": "failed"}), viewer)
        assert by_param.refusal is None and sorted(by_param.outcomes) == sorted(FAILURES)
        germany = FILTERS.read(MultiDict({"q": "country:Germany"}), viewer)
        assert germany.countries == ["DE"] and germany.controls()["country"] == "DE"
        assert FILTERS.read(MultiDict({"q": 'country:"united kingdom"'}), viewer).countries == [
            "GB"
        ]
        refused = FILTERS.read(MultiDict({"q": "outcome:nope country:Atlantis"}), viewer)
        assert "failed" in refused.refusal and "Germany or DE" in refused.refusal
