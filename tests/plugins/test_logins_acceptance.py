"""Sign-in protection against real servers: two gunicorn workers racing on one account, and a
canary password that must leave no trace in the database, the logs, the queue or Redis."""

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest

from core.auth import signins
from core.auth.signins import SignInAttempt
from core.db import database
from core.demo import seed_people
from core.people import User
from core.queue import make_huey
from tests.browser.conftest import gunicorn
from tests.plugins.test_logins import CANARY

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def serve(make_app, tmp_path, database_url, huey_url, **settings):
    """Migrate and seed ``database_url`` in this process; return the env of a gunicorn on it."""
    app = make_app()
    with app.app_context(), database.atomic():
        seed_people()
    database.close()
    env = {
        "ACTIVITY_STREAM_DATABASE_URL": database_url,
        "ACTIVITY_STREAM_HUEY_URL": huey_url,
        "ACTIVITY_STREAM_SECRET_KEY": "gunicorn-test-secret-0123456789",
        **{f"ACTIVITY_STREAM_{key}": str(value) for key, value in settings.items()},
    }
    return app, dict(os.environ, **env)


def huey_payloads(huey_url):
    """Return what huey holds for ``huey_url`` (its queue, schedule and results), each read
    back by huey's own serializer: the task with its arguments, however it is stored."""
    huey = make_huey(huey_url)
    storage = huey.storage
    stored = [*storage.enqueued_items(), *storage.scheduled_items()]
    stored += storage.result_items().values()
    return [huey.serializer.deserialize(data) for data in stored]


REDIS_READERS = {
    b"string": lambda client, key: [client.get(key)],
    b"list": lambda client, key: client.lrange(key, 0, -1),
    b"hash": lambda client, key: [part for pair in client.hgetall(key).items() for part in pair],
    b"set": lambda client, key: list(client.smembers(key)),
    b"zset": lambda client, key: client.zrange(key, 0, -1),
    b"none": lambda client, key: [],  # expired since the scan
}


def redis_values(client):
    """Return ``(key, value)`` for every value in the Redis database, read by the key's type.
    (A key's ``DUMP`` is LZF-compressed: a search of it can miss what the value holds.)"""
    values = []
    for key in client.scan_iter():
        kind = client.type(key)
        assert kind in REDIS_READERS, f"Redis key {key!r} is a {kind!r}, which is not read here"
        values += [(key, value) for value in REDIS_READERS[kind](client, key)]
    return values


class Browser:
    """A urllib client holding a session cookie and the form's CSRF token."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = TOKEN.search(self.get("/login")[1]).group(1)

    def get(self, path):
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.status, response.read().decode()

    def sign_in(self, email, password):
        data = urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": self.token}
        ).encode()
        try:
            with self.opener.open(self.base_url + "/login", data=data, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def test_a_hundred_wrong_passwords_to_two_workers_check_at_most_the_limit(
    make_app, tmp_path, database_url
):
    log = tmp_path / "hash-checks.log"
    app, env = serve(
        make_app, tmp_path, database_url, f"sqlite:///{tmp_path / 'huey.db'}", HASH_CHECK_LOG=log
    )
    with gunicorn(tmp_path, env) as (base_url, _):
        browsers = [Browser(base_url) for _ in range(10)]  # ten clients, one account

        def attempt(number):
            return browsers[number % 10].sign_in("pm@example.com", f"{CANARY}-{number}")

        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(attempt, range(100)))
    assert statuses == [401] * 100
    checks = log.read_text().splitlines()
    assert 1 <= len(checks) <= 5, f"{len(checks)} password checks for a limit of 5"
    with app.app_context():
        kinds = [row.outcome for row in SignInAttempt.select(SignInAttempt.outcome)]
    assert len([kind for kind in kinds if kind in signins.ATTEMPTS]) == 100
    assert kinds.count(signins.WRONG_PASSWORD) == len(checks)
    assert kinds.count(signins.ACCOUNT_LOCKED) == 1


@pytest.fixture(params=["sqlite-huey", "redis-huey"])
def huey_url(request, tmp_path):
    if request.param == "sqlite-huey":
        return f"sqlite:///{tmp_path / 'huey.db'}"
    url = request.getfixturevalue("redis_url")
    make_huey(url).flush()  # what an earlier test queued is not this test's doing
    return url


def test_a_canary_password_leaves_no_trace(make_app, tmp_path, database_url, huey_url):
    app, env = serve(make_app, tmp_path, database_url, huey_url)
    with app.app_context():
        office = User.get(User.email == "office@example.com")
        office.set_password(CANARY)  # a right password too: only its hash may be stored
        office.save()
        User.update(active=False).where(User.email == "sales@example.com").execute()
    database.close()
    with gunicorn(tmp_path, env) as (base_url, log_path):
        browser = Browser(base_url)
        for email in ("pm@example.com",) * 6 + (
            "nobody@example.com",
            "sales@example.com",
            "lead@example.com",
        ):
            assert browser.sign_in(email, CANARY) == 401  # wrong, locked, unknown, inactive…
        assert browser.sign_in("office@example.com", CANARY) == 200  # signed in, redirected
        assert browser.sign_in("", CANARY) == 400
        logs = log_path.read_bytes()
    needle = CANARY.encode()
    assert needle not in logs
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), f"the canary is in {path}"
    if database_url.startswith("postgresql"):
        import psycopg2

        with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            for (table,) in cursor.fetchall():
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', (f"%{CANARY}%",)
                )
                assert cursor.fetchone()[0] == 0, f"the canary is in table {table}"
        connection.close()
    for payload in huey_payloads(huey_url):
        assert CANARY not in repr(payload), f"the canary is in a huey message: {payload!r}"
    if huey_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(huey_url)
        for key, value in redis_values(client):
            assert needle not in value, f"the canary is in Redis key {key!r}"
    with app.app_context():
        assert SignInAttempt.select().count() >= 11
