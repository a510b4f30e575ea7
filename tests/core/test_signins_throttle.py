"""Brute force: limits per account name and per IP, checked before the password, locks that
grow, one answer for every kind of failure."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from core.auth import signins
from core.auth.signins import SignInAttempt
from core.auth.throttle import SignInThrottle
from core.auth.views import FAILURE_MESSAGE
from core.config import ConfigError
from core.db import database
from core.db import utcnow
from core.people import User
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.core.test_auth import alert_of
from tests.core.test_signins import CANARY
from tests.core.test_signins import FIREFOX
from tests.core.test_signins import IPHONE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def counted_app(make_app, tmp_path):
    """An app that logs one line per password check; returns ``(app, count)``."""
    log = tmp_path / "hash-checks.log"
    app = make_app(HASH_CHECK_LOG=str(log))
    from core.db import database
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()

    def count():
        return len(log.read_text().splitlines()) if log.exists() else 0

    return app, count


def outcomes(app):
    with app.app_context():
        return [row.outcome for row in SignInAttempt.select().order_by(SignInAttempt.id)]


def test_the_account_locks_at_the_limit_before_any_more_passwords_are_checked(counted_app):
    app, count = counted_app
    client = app.test_client()
    answers = [sign_in(client, "pm@example.com", CANARY) for _ in range(5)]
    assert [a.headers["Retry-After"] for a in answers[:4]] == ["0"] * 4
    assert int(answers[4].headers["Retry-After"]) == 900  # the 5th failure locks
    assert count() == 5
    right = sign_in(client, "pm@example.com")  # even the right password is refused now
    assert right.status_code == 401 and int(right.headers["Retry-After"]) > 800
    assert count() == 5, "a locked account had a password checked"
    assert outcomes(app) == [signins.WRONG_PASSWORD] * 5 + [
        signins.ACCOUNT_LOCKED,
        signins.LOCKED,
    ]
    other = app.test_client()  # another account from the same IP is not locked
    assert sign_in(other, "office@example.com").status_code == 302


def test_an_unknown_name_locks_exactly_as_a_real_account_does(counted_app):
    app, count = counted_app
    client = app.test_client()
    for _ in range(6):
        last = sign_in(client, "nobody@example.com", CANARY)
    assert last.status_code == 401 and int(last.headers["Retry-After"]) > 800
    assert count() == 5
    assert outcomes(app)[-2:] == [signins.ACCOUNT_LOCKED, signins.LOCKED]


def test_the_ip_limit_stops_a_spray_over_many_names(make_app):
    app = make_app(LOCK_IP_LIMIT=3)
    client = app.test_client()
    for number in range(4):
        last = sign_in(client, f"guess{number}@example.com", CANARY)
    assert int(last.headers["Retry-After"]) > 800
    assert outcomes(app) == [signins.UNKNOWN_USER] * 3 + [signins.IP_LOCKED, signins.LOCKED]


def test_locks_grow_tier_by_tier_and_a_success_clears_the_account(counted_app):
    app, _ = counted_app
    client = app.test_client()

    def fail_until_locked():
        for _ in range(5):
            response = sign_in(client, "pm@example.com", CANARY)
        return int(response.headers["Retry-After"])

    def lock_passes():
        with app.app_context():
            SignInThrottle.update(locked_until=utcnow() - timedelta(seconds=1)).where(
                SignInThrottle.key == "account:pm@example.com"
            ).execute()

    assert fail_until_locked() == 900
    lock_passes()
    assert fail_until_locked() == 3600  # the second lock lasts longer
    lock_passes()
    sign_in(client, "pm@example.com", CANARY)
    assert sign_in(client, "pm@example.com").status_code == 302
    with app.app_context():
        row = SignInThrottle.get(SignInThrottle.key == "account:pm@example.com")
        assert (row.failures, row.tier, row.since_success) == ("", 0, 0)
        success = SignInAttempt.select().order_by(SignInAttempt.id.desc()).first()
        assert success.failures_before == 11  # 10 before the locks, 1 after


def test_failures_leave_the_window(make_app):
    app = make_app(LOCK_WINDOW=1)
    client = app.test_client()
    for _ in range(4):
        sign_in(client, "nobody@example.com", CANARY)
    with app.app_context():
        row = SignInThrottle.get(SignInThrottle.key == "account:nobody@example.com")
        old = " ".join(f"{float(t) - 5:.6f}" for t in row.failures.split())
        SignInThrottle.update(failures=old).where(SignInThrottle.key == row.key).execute()
    assert sign_in(client, "nobody@example.com", CANARY).headers["Retry-After"] == "0"


CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def browser_at(app, ip, agent):
    """Return a test client whose every request comes from ``ip`` with ``agent``."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ip, "HTTP_USER_AGENT": agent})
    return client


def pass_locks(app):
    """Move every lock's end into the past, as time would."""
    with app.app_context():
        SignInThrottle.update(locked_until=utcnow() - timedelta(seconds=1)).where(
            SignInThrottle.locked_until.is_null(False)
        ).execute()


def test_failures_from_elsewhere_never_lock_the_owner_out_of_a_browser_they_used(app, people):
    home = ("81.2.69.160", FIREFOX)
    assert sign_in(browser_at(app, *home), "owner@example.com").status_code == 302
    attacker = browser_at(app, "203.0.113.9", CHROME)
    for expected in (900, 3600, 21600, 86400, 86400):  # a script, lock after lock
        for _ in range(5):
            last = sign_in(attacker, "owner@example.com", CANARY)
        assert int(last.headers["Retry-After"]) == expected
        right = sign_in(attacker, "owner@example.com")  # locked: even the right password
        assert right.status_code == 401 and int(right.headers["Retry-After"]) > 800
        # The owner's own browser at their own address is counted on its own key.
        owner = browser_at(app, *home)
        assert sign_in(owner, "owner@example.com").status_code == 302
        assert owner.get("/profile").status_code == 200
        pass_locks(app)
    for _ in range(5):
        sign_in(attacker, "owner@example.com", CANARY)
    # A browser the owner never signed in from is held by the account's lock, as is the
    # owner's browser at another address, and each is told so.
    for ip, agent in (("81.2.69.160", IPHONE), ("81.2.69.161", FIREFOX)):
        held = sign_in(browser_at(app, ip, agent), "owner@example.com")
        assert held.status_code == 401
        assert alert_of(held).startswith("Too many attempts for this name.")
    assert sign_in(browser_at(app, *home), "owner@example.com").status_code == 302


def test_a_known_browser_has_its_own_limit_and_its_lock_holds_only_it(app, people):
    home = browser_at(app, "81.2.69.160", FIREFOX)
    assert sign_in(home, "pm@example.com").status_code == 302
    for _ in range(5):
        last = sign_in(home, "pm@example.com", CANARY)
    assert int(last.headers["Retry-After"]) == 900
    assert alert_of(sign_in(home, "pm@example.com")).startswith("Too many attempts")
    assert outcomes(app)[-3:] == [signins.WRONG_PASSWORD, signins.CLIENT_LOCKED, signins.LOCKED]
    # The account itself is not locked: a new browser of the user signs in.
    laptop = browser_at(app, "81.2.69.160", IPHONE)
    assert sign_in(laptop, "pm@example.com").status_code == 302
    with app.app_context():
        success = SignInAttempt.select().order_by(SignInAttempt.id.desc()).first()
        assert success.failures_before == 6  # five wrong, one refused


def test_successes_do_not_use_up_an_address_allowance(app, people):
    for number in range(55):  # an office behind one NAT, all morning
        answer = sign_in(browser_at(app, "81.2.69.160", FIREFOX), "pm@example.com")
        assert answer.status_code == 302, f"sign-in {number + 1} refused"
    with app.app_context():
        row = SignInThrottle.get(SignInThrottle.key == "ip:81.2.69.160")
        assert row.failures == ""


def test_a_success_gives_back_its_own_reservation_not_an_attacker_failures(make_app):
    app = make_app(LOCK_IP_LIMIT=3)
    from core.demo import seed_people

    with app.app_context(), database.atomic():
        seed_people()
    office = ("81.2.69.160", FIREFOX)
    for name in ("guess1@example.com", "guess2@example.com"):
        sign_in(browser_at(app, *office), name, CANARY)
    for _ in range(4):
        assert sign_in(browser_at(app, *office), "pm@example.com").status_code == 302
    last = sign_in(browser_at(app, *office), "guess3@example.com", CANARY)
    assert int(last.headers["Retry-After"]) == 900  # the third failure locks the address
    assert outcomes(app)[-2:] == [signins.UNKNOWN_USER, signins.IP_LOCKED]


def test_addresses_on_the_allow_list_are_never_locked_by_ip_limits(make_app):
    app = make_app(LOCK_IP_LIMIT=2, LOCK_ALLOW="10.0.0.0/8, 2001:db8::/32")
    for ip in ("10.1.2.3", "2001:db8::7"):
        office = browser_at(app, ip, FIREFOX)
        for number in range(6):
            answer = sign_in(office, f"guess{number}@example.com", CANARY)
            assert answer.headers["Retry-After"] == "0", ip
    assert signins.IP_LOCKED not in outcomes(app)
    with app.app_context():
        assert not SignInThrottle.select().where(SignInThrottle.key.startswith("ip:")).exists()
    outside = browser_at(app, "81.2.69.160", FIREFOX)
    for number in range(2):
        last = sign_in(outside, f"other{number}@example.com", CANARY)
    assert int(last.headers["Retry-After"]) == 900
    assert outcomes(app)[-1] == signins.IP_LOCKED
    # Account limits still hold on the allow list.
    office = browser_at(app, "10.1.2.3", FIREFOX)
    for _ in range(5):
        last = sign_in(office, "someone@example.com", CANARY)
    assert outcomes(app)[-1] == signins.ACCOUNT_LOCKED


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.1/8", "office", "10.0.0.0/8;1.2.3.4"])
def test_a_malformed_allow_list_stops_start_up_naming_the_variable(make_app, monkeypatch, value):
    monkeypatch.setenv("ACTIVITY_STREAM_LOCK_ALLOW", value)
    with pytest.raises(ConfigError, match="ACTIVITY_STREAM_LOCK_ALLOW"):
        make_app()


def failure_kinds(app, client):
    """Return the answer of each kind of failure that is not a lock, in one browser session."""
    with app.app_context():
        User.update(active=False).where(User.email == "sales@example.com").execute()
    return {
        "nobody@example.com": sign_in(client, "nobody@example.com", CANARY),
        "pm@example.com": sign_in(client, "pm@example.com", CANARY),
        "sales@example.com": sign_in(client, "sales@example.com"),
        "lead@example.com": sign_in(client, "lead@example.com"),
    }


def header_set(answer, typed=""):
    """Return the answer's headers, the values that may differ left out, and the length less
    the email typed (which the form keeps)."""
    return sorted(
        (name, "…" if name in ("Retry-After", "Set-Cookie") else value)
        if name != "Content-Length"
        else (name, int(value) - len(typed.encode()))
        for name, value in answer.headers.items()
    )


def without_typed(answers):
    """Return each answer's body with the email typed (kept in the form) taken out."""
    return {
        email: answer.get_data().replace(f'value="{email}"'.encode(), b'value=""')
        for email, answer in answers.items()
    }


def test_every_kind_of_failure_gets_the_same_answer(app, client, people):
    answers = failure_kinds(app, client)
    for email, answer in answers.items():
        assert f'name="email" value="{email}"' in answer.text, "the typed email is not kept"
        assert alert_of(answer) == FAILURE_MESSAGE
    bodies = without_typed(answers)
    assert len(set(bodies.values())) == 1, "the failure pages differ"
    assert {answer.status_code for answer in answers.values()} == {401}
    assert len({tuple(header_set(answer, email)) for email, answer in answers.items()}) == 1
    assert outcomes(app)[-4:] == [
        signins.UNKNOWN_USER,
        signins.WRONG_PASSWORD,
        signins.INACTIVE,
        signins.NOT_ALLOWED,
    ]


def test_a_lock_is_told_in_the_same_words_for_a_real_account_and_an_unknown_name(
    app, client, people
):
    locking, refused = {}, {}
    for email in ("owner@example.com", "nobody@example.com"):
        for _ in range(5):
            locking[email] = sign_in(client, email, CANARY)
        refused[email] = sign_in(client, email)  # the owner's right password, too
    told = (
        "Too many attempts for this name. Try again in 15 minutes, "
        "or ask an administrator to lift the lock."
    )
    for answers in (locking, refused):
        assert [alert_of(answer) for answer in answers.values()] == [told, told]
        assert {answer.status_code for answer in answers.values()} == {401}
        assert len({tuple(header_set(a, email)) for email, a in answers.items()}) == 1
        assert len(set(without_typed(answers).values())) == 1, "the lock pages differ"
        for email, answer in answers.items():
            assert f'name="email" value="{email}"' in answer.text
    assert client.get("/profile").status_code == 302


def test_an_ip_lock_is_told_as_one(make_app):
    app = make_app(LOCK_IP_LIMIT=3)
    client = app.test_client()
    for number in range(4):
        last = sign_in(client, f"guess{number}@example.com", CANARY)
    assert alert_of(last) == (
        "Too many attempts from your network address. Try again in 15 minutes, "
        "or ask an administrator to lift the lock."
    )
    assert 'value="guess3@example.com"' in last.text


def test_a_thousand_failed_attempts_are_all_recorded_and_the_account_locked_at_the_limit(
    counted_app,
):
    app, count = counted_app
    token_client = app.test_client()
    token = csrf_token_of(token_client)
    cookie = token_client.get_cookie("session").value

    def attempt(number):
        client = app.test_client()
        client.set_cookie("session", cookie)
        data = {"email": "pm@example.com", "password": f"{CANARY}-{number}", "csrf_token": token}
        return client.post("/login", data=data).status_code

    # Refused attempts wait as long as a password check: run them side by side.
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(1000)))
    assert statuses == [401] * 1000
    kinds = outcomes(app)
    attempts = [kind for kind in kinds if kind in signins.ATTEMPTS]
    assert len(attempts) == 1000
    assert kinds.count(signins.WRONG_PASSWORD) == 5 == count()
    assert kinds.count(signins.ACCOUNT_LOCKED) == 1
    assert kinds.count(signins.LOCKED) == 995
    assert sign_in(app.test_client(), "pm@example.com").status_code == 401  # still locked


@pytest.mark.parametrize(
    "setting, value",
    [
        ("LOCK_TIERS", "15m"),
        ("LOCK_TIERS", ""),
        ("LOCK_ACCOUNT_LIMIT", 0),
        ("LOCK_WINDOW", "soon"),
        ("LOCK_IP_LIMIT", True),
    ],
)
def test_bad_lock_settings_stop_start_up_naming_the_variable(make_app, setting, value):
    with pytest.raises(ConfigError, match=f"ACTIVITY_STREAM_{setting}"):
        make_app(**{setting: value})


def test_the_dummy_hash_is_made_on_first_use_not_at_import(tmp_path):
    script = (
        "import core.auth.views\n"
        "from core.app import create_app\n"
        f"app = create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/x.db', 'HUEY_URL': 'memory://',"
        f" 'SECRET_KEY': 'x' * 20, 'INSTANCE_PATH': '{tmp_path}'}})\n"
        "assert core.auth.views.dummy_hash.cache_info().currsize == 0\n"
        "print('lazy')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "lazy", result.stderr


def test_lifting_a_key_that_never_counted_writes_nothing(app):
    from core.auth import throttle

    with app.app_context(), database.atomic():
        before = SignInThrottle.select().count()
        assert throttle.unlock(throttle.account_key("nobody@example.com")) is False
        assert SignInThrottle.select().count() == before
