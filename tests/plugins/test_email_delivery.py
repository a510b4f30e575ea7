"""Delivery by a real huey consumer process (``huey_consumer wsgi.huey``) to a real SMTP server:
retries while the server is down, and no message lost when the consumer is killed (SIGKILL)
in the middle of a batch, on SqliteHuey and on RedisHuey."""

import signal
import time

import peewee
import pytest

from core.db import database
from core.notifications import Notification
from core.notifications import notify
from core.people import User
from plugins.email.models import SENT
from plugins.email.models import EmailAttempt
from plugins.email.models import EmailMessage
from tests.consumers import Consumers

LEASE = 2  # seconds: short, so a killed consumer's message is swept again within the test


@pytest.fixture
def delivery(make_app, people, database_url):
    """Return ``start(huey_url, smtp_url)``: a migrated app and a function starting consumer
    processes (``huey_consumer wsgi.huey``) on the same database, queue and SMTP server."""
    del people
    consumers = Consumers(make_app)

    def start(huey_url, smtp_url):
        return consumers.start(
            DATABASE_URL=database_url,
            HUEY_URL=huey_url,
            SMTP_URL=smtp_url,
            SECRET_KEY="delivery-test-secret-0123456789",
            EMAIL_LEASE_SECONDS=LEASE,
            EMAIL_RETRY_SECONDS=0.2,
            EMAIL_MAX_ATTEMPTS=20,
            SMTP_TIMEOUT=5,
        )

    start.consumer = consumers.consumer
    yield start
    consumers.stop()


def queue_mail(app, count):
    """Queue ``count`` messages to the Teammate in one transaction; return their ids."""
    with app.app_context():
        teammate = User.get(User.email == "teammate@example.com")
        with database.atomic():
            return [
                notify(
                    Notification(
                        "test.batch",
                        (teammate,),
                        f"Batch message {index}",
                        "workspace/mail/task_assigned",
                        {"title": f"Task {index}", "actor_name": "Tester"},
                    )
                )[0]
                for index in range(count)
            ]


def count_sent(app):
    with app.app_context():
        return EmailMessage.select().where(EmailMessage.status == SENT).count()


def statuses(app):
    """Return how many messages are in each state (for failure messages)."""
    with app.app_context():
        return {
            m.status: m.n
            for m in EmailMessage.select(
                EmailMessage.status, peewee.fn.COUNT(EmailMessage.id).alias("n")
            ).group_by(EmailMessage.status)
        }


def wait_until(check, consumer, timeout=30, what="the consumer"):
    """Poll ``check()`` until true; fail if ``consumer`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if consumer.poll() is not None:
            pytest.fail(f"{what}: the consumer exited: {consumer.stderr.read().decode()[-3000:]}")
        time.sleep(0.02)
    pytest.fail(f"{what}: not done within {timeout} s")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_consumer_retries_while_the_server_is_down_then_sends(delivery, tmp_path, smtp_server):
    smtp_server.stop()
    app = delivery(f"sqlite:///{tmp_path / 'huey.db'}", smtp_server.url)
    (message_id,) = queue_mail(app, 1)
    consumer = delivery.consumer()

    def failed_twice():
        with app.app_context():
            return EmailAttempt.select().where(EmailAttempt.message == message_id).count() >= 2

    wait_until(failed_twice, consumer, what="two failed tries")
    smtp_server.start()
    wait_until(lambda: count_sent(app) == 1, consumer, what="the retry after the server came back")
    with app.app_context():
        message = EmailMessage.get_by_id(message_id)
        results = [a.result for a in EmailAttempt.select().order_by(EmailAttempt.id)]
    assert results[-1] == "sent" and set(results[:-1]) == {"temporary"}
    (received,) = smtp_server.messages()
    assert received["Message-ID"] == message.message_id


def kill_mid_batch(delivery, app, smtp_server, kills=2, total=200):
    """Queue ``total`` messages, kill the consumer (SIGKILL) ``kills`` times while it sends,
    restart it each time, and check that every message was sent, each Message-ID at least
    once, with no more duplicates than kills."""
    ids = queue_mail(app, total)
    consumer = delivery.consumer()
    for kill in range(1, kills + 1):
        target = total * kill // (kills + 1)
        wait_until(lambda target=target: count_sent(app) >= target, consumer)
        assert count_sent(app) < total, f"the batch ended before kill {kill}: {statuses(app)}"
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        time.sleep(LEASE + 0.3)  # the killed message's lease runs out; the sweep takes it
        consumer = delivery.consumer()
    # The consumer sweeps when it starts, then once a minute; run the periodic sweep every
    # few seconds instead, as its schedule would, so a task lost in the kill is found soon.
    sweep = app.extensions["email.tasks"]["sweep"]
    last_sweep = [time.monotonic()]

    def all_sent():
        if time.monotonic() - last_sweep[0] > LEASE + 0.5:
            sweep()
            last_sweep[0] = time.monotonic()
        return count_sent(app) == total

    try:
        wait_until(all_sent, consumer, timeout=60, what=f"sending all {total} messages")
    except pytest.fail.Exception as failure:
        pytest.fail(f"{failure} (messages by state: {statuses(app)})")
    with app.app_context():
        recorded = {m.message_id for m in EmailMessage.select().where(EmailMessage.id.in_(ids))}
    received = [message["Message-ID"] for message in smtp_server.messages()]
    assert len(recorded) == total
    assert set(received) == recorded
    duplicates = len(received) - len(set(received))
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_killed_sqlite_huey_consumer_loses_no_message(delivery, tmp_path, smtp_server):
    app = delivery(f"sqlite:///{tmp_path / 'huey.db'}", smtp_server.url)
    kill_mid_batch(delivery, app, smtp_server)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_killed_redis_huey_consumer_loses_no_message(delivery, redis_url, smtp_server):
    app = delivery(redis_url, smtp_server.url)
    kill_mid_batch(delivery, app, smtp_server)
