"""Brute force: limits per account name and per IP, checked before the password, locks that
grow, one answer for every kind of failure."""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from core import signins
from core.config import ConfigError
from core.db import utcnow
from core.people import User
from core.signins import SignInAttempt
from core.throttle import SignInThrottle
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.core.test_signins import CANARY

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


def failure_kinds(app, client):
    """Return the answer of each kind of failure, in one browser session."""
    with app.app_context():
        User.update(active=False).where(User.email == "sales@example.com").execute()
    for _ in range(5):
        sign_in(client, "office@example.com", CANARY)  # locks office@
    return {
        "unknown": sign_in(client, "nobody@example.com", CANARY),
        "wrong": sign_in(client, "pm@example.com", CANARY),
        "locked": sign_in(client, "office@example.com"),
        "inactive": sign_in(client, "sales@example.com"),
        "not allowed": sign_in(client, "lead@example.com"),
    }


def test_every_kind_of_failure_gets_the_same_answer(app, client, people):
    answers = failure_kinds(app, client)
    bodies = {kind: answer.get_data() for kind, answer in answers.items()}
    assert len(set(bodies.values())) == 1, "the failure pages differ"
    assert {answer.status_code for answer in answers.values()} == {401}

    def headers(answer):
        return sorted(
            (name, "…" if name in ("Retry-After", "Set-Cookie") else value)
            for name, value in answer.headers.items()
        )

    assert len({tuple(headers(answer)) for answer in answers.values()}) == 1
    assert outcomes(app)[-5:] == [
        signins.UNKNOWN_USER, signins.WRONG_PASSWORD, signins.LOCKED, signins.INACTIVE,
        signins.NOT_ALLOWED,
    ]  # fmt: skip


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
    [("LOCK_TIERS", "15m"), ("LOCK_TIERS", ""), ("LOCK_ACCOUNT_LIMIT", 0),
     ("LOCK_WINDOW", "soon"), ("LOCK_IP_LIMIT", True)],
)  # fmt: skip
def test_bad_lock_settings_stop_start_up_naming_the_variable(make_app, setting, value):
    with pytest.raises(ConfigError, match=f"ACTIVITY_STREAM_{setting}"):
        make_app(**{setting: value})


def test_the_dummy_hash_is_made_on_first_use_not_at_import(tmp_path):
    script = (
        "import core.auth\n"
        "from core.app import create_app\n"
        f"app = create_app({{'DATABASE_URL': 'sqlite:///{tmp_path}/x.db', 'HUEY_URL': 'memory://',"
        f" 'SECRET_KEY': 'x' * 20, 'INSTANCE_PATH': '{tmp_path}'}})\n"
        "assert core.auth.dummy_hash.cache_info().currsize == 0\n"
        "print('lazy')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "lazy", result.stderr
