"""The sign-in log: every attempt through the form recorded, with who, how, from where."""

import pytest

from core import migrations
from core.auth import signins
from core.auth.clients import country_of
from core.auth.clients import describe_client
from core.auth.clients import pair_of
from core.auth.clients import parse_user_agent
from core.auth.signins import SignInAttempt
from core.auth.signins import record_sign_in_attempts
from core.db import database
from core.migrations import SchemaMigration
from core.people import User
from tests.conftest import SIGN_IN_CANARY as CANARY
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def attempts(app):
    """Return every recorded row, oldest first."""
    with app.app_context():
        return list(SignInAttempt.select().order_by(SignInAttempt.id))


def post_login(client, email, password, headers=None):
    """Post the sign-in form as typed (no clean-up of ``email``)."""
    data = {"email": email, "password": password, "csrf_token": csrf_token_of(client)}
    return client.post("/login", data=data, headers=headers or {})


def test_every_kind_of_attempt_is_recorded_with_its_outcome(app, client, people):
    with app.app_context():
        User.update(active=False).where(User.email == "sales@example.com").execute()
    post_login(client, "", CANARY)  # an invalid form is recorded too
    post_login(client, "nobody@example.com", CANARY)
    post_login(client, "admin@example.com", CANARY)
    sign_in(client, "lead@example.com")
    sign_in(client, "sales@example.com")
    assert sign_in(client, "admin@example.com").status_code == 302
    rows = attempts(app)
    assert [(row.name_typed, row.outcome) for row in rows] == [
        ("", signins.INVALID_FORM),
        ("nobody@example.com", signins.UNKNOWN_USER),
        ("admin@example.com", signins.WRONG_PASSWORD),
        ("lead@example.com", signins.NOT_ALLOWED),
        ("sales@example.com", signins.INACTIVE),
        ("admin@example.com", signins.SIGNED_IN),
    ]
    assert [row.user_id for row in rows] == [
        None,
        None,
        *(
            people[e].id
            for e in (
                "admin@example.com",
                "lead@example.com",
                "sales@example.com",
                "admin@example.com",
            )
        ),
    ]
    assert rows[-1].session_id is not None
    assert rows[-1].failures_before == 1  # "after 1 failure"
    assert any(row.attempted_at.microsecond for row in rows)  # stored to the microsecond


def test_the_name_is_kept_as_typed_cut_and_neutralised_never_the_password(app, client, people):
    typed = "  Evil\x1b[31m\nName@example.com" + "x" * 400
    post_login(client, typed, CANARY)
    (row,) = attempts(app)
    assert "\x1b" not in row.name_typed and "\n" not in row.name_typed
    assert row.name_typed.startswith("  Evil\ufffd[31m\ufffdName@example.com")
    assert len(row.name_typed) == 254 and row.name_typed.endswith("…")
    assert all(CANARY not in str(value) for value in row.__data__.values())


def test_the_user_agent_is_parsed_and_the_loopback_shown_as_such(app, client, people):
    sign_in(client, "admin@example.com", CANARY)
    client.post(
        "/login",
        data={"email": "x@example.com", "password": "y", "csrf_token": csrf_token_of(client)},
        headers={"User-Agent": IPHONE},
    )
    first, second = attempts(app)
    assert first.ip == "127.0.0.1" and first.country == "loopback"
    assert (second.browser, second.os, second.device) == ("Mobile Safari 17", "iOS 17", "iPhone")
    assert second.user_agent == IPHONE


def test_countries_come_from_the_offline_database():
    assert country_of("81.2.69.160") == "GB"
    assert country_of("2a00:1450:4001:80b::200e") == "DE"
    assert country_of("10.1.2.3") == "private"
    assert country_of("::1") == "loopback"
    assert country_of("not an ip") == ""
    assert parse_user_agent(FIREFOX) == ("Firefox 128", "Windows 10", "")


@pytest.mark.parametrize("proxies", [0, 1])
def test_x_forwarded_for_is_used_only_behind_trusted_proxies(make_app, proxies):
    app = make_app(TRUSTED_PROXIES=proxies)
    client = app.test_client()
    spoofed = {"X-Forwarded-For": "81.2.69.160"}
    post_login(client, "nobody@example.com", "x", headers=spoofed)
    (row,) = attempts(app)
    if proxies:
        assert (row.ip, row.country) == ("81.2.69.160", "GB")
    else:
        assert (row.ip, row.country) == ("127.0.0.1", "loopback")


def test_new_browser_ip_and_country_are_flagged_after_the_first_sign_in(make_app):
    app = make_app(TRUSTED_PROXIES=1)
    from core.db import database
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()
    home = {"X-Forwarded-For": "81.2.69.160", "User-Agent": FIREFOX}
    for headers in (
        home,  # first ever: nothing to compare with
        home,  # the same again
        {**home, "User-Agent": IPHONE},  # a new browser
        {**home, "X-Forwarded-For": "81.2.69.161"},  # a new IP, same country
        {**home, "X-Forwarded-For": "2a00:1450:4001:80b::200e"},  # a new IP and country
    ):
        client = app.test_client()
        assert post_login(client, "pm@example.com", "demo-password", headers).status_code == 302
    flags = [(row.flags, signins.flag_labels(row.flags)) for row in attempts(app)]
    assert flags == [
        (0, []),
        (0, []),
        (signins.NEW_BROWSER, ["new browser"]),
        (signins.NEW_IP, ["new IP"]),
        (signins.NEW_IP | signins.NEW_COUNTRY, ["new IP", "new country"]),
    ]


def test_a_recorder_refuses_an_unknown_outcome(app):
    with app.app_context(), pytest.raises(ValueError, match="outcome"):
        signins.record_sign_in_attempt("x", None, "guessed")


def test_a_browser_and_ip_pair_ignores_versions_but_not_the_address_or_the_browser():
    newer = FIREFOX.replace("128.0", "129.0")
    assert pair_of("81.2.69.160", FIREFOX) == pair_of("81.2.69.160", newer)
    assert pair_of("81.2.69.160", FIREFOX) != pair_of("81.2.69.161", FIREFOX)
    assert pair_of("81.2.69.160", FIREFOX) != pair_of("81.2.69.160", IPHONE)
    assert len(pair_of(None, None)) == 64


def test_a_sign_in_remembers_its_pair_and_the_upgrade_remembers_those_already_logged(app, people):
    owner = people["owner@example.com"]
    home, abroad = pair_of("81.2.69.160", FIREFOX), pair_of("2a00:1450:4001::1", IPHONE)
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": "81.2.69.160", "HTTP_USER_AGENT": FIREFOX})
    assert sign_in(client, owner.email).status_code == 302
    with app.app_context():
        assert signins.is_known_pair(owner.id, home)
        # A sign-in logged before pairs were kept (the bulk path remembers none).
        logged = describe_client("2a00:1450:4001::1", IPHONE)
        with database.atomic():
            record_sign_in_attempts(
                [signins.build_attempt(owner.email, owner.id, signins.SIGNED_IN, logged)]
            )
        assert not signins.is_known_pair(owner.id, abroad)
        name = "core.0005_known_browser_ip_pairs"
        SchemaMigration.delete().where(SchemaMigration.name == name).execute()
        assert migrations.upgrade(app) == [name]
        assert signins.is_known_pair(owner.id, abroad)
        assert not signins.is_known_pair(people["pm@example.com"].id, abroad)
