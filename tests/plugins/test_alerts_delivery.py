"""An alert end to end: a followed search, a matching record, the minute's task run by a real
huey consumer process (``huey_consumer wsgi.huey``), the mail delivered to a real SMTP server,
on SqliteHuey and on RedisHuey (the pattern of tests/plugins/test_email_delivery.py)."""

import pytest

from plugins.email.models import EmailMessage
from tests.consumers import Consumers
from tests.plugins.test_alerts import follow
from tests.plugins.test_alerts import record
from tests.plugins.test_email_delivery import wait_until


@pytest.fixture
def consumer_app(make_app, people, database_url):
    """Return ``start(huey_url, smtp_url)``: an app queueing to that queue (not immediate),
    with ``start.consumer()`` starting a consumer process on the same database and queue."""
    del people
    consumers = Consumers(make_app)

    def start(huey_url, smtp_url):
        return consumers.start(
            DATABASE_URL=database_url,
            HUEY_URL=huey_url,
            SMTP_URL=smtp_url,
            SECRET_KEY="alerts-delivery-secret-0123456789",
            EMAIL_RETRY_SECONDS=0.2,
            SMTP_TIMEOUT=5,
        )

    start.consumer = consumers.consumer
    yield start
    consumers.stop()


def alert_delivered(app, consumer_app, smtp_server):
    """Follow a search, record a match, let a consumer run the minute's task: one mail."""
    follow(app, "owner@example.com", "activity", "Edits", "action:edited")
    event_id = record(app)
    app.extensions["alerts.tasks"]["evaluate"]()  # enqueued, as the minute's schedule does
    consumer = consumer_app.consumer()
    wait_until(lambda: len(smtp_server.messages()) >= 1, consumer, what="the alert's delivery")
    (received,) = smtp_server.messages()
    assert received["Subject"] == "Alert: 1 event for “Edits” on Activity"
    assert received["To"].addresses[0].addr_spec == "owner@example.com"
    text = received.get_body(("plain",)).get_content()
    assert f"/stream/activity/{event_id}" in text and "/alerts/unsubscribe/" in text
    with app.app_context():
        assert EmailMessage.select().where(EmailMessage.kind == "alert.search").count() == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_alert_reaches_a_real_smtp_server_through_sqlite_huey(
    consumer_app, tmp_path, smtp_server
):
    app = consumer_app(f"sqlite:///{tmp_path / 'huey.db'}", smtp_server.url)
    alert_delivered(app, consumer_app, smtp_server)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_alert_reaches_a_real_smtp_server_through_redis_huey(
    consumer_app, redis_url, smtp_server
):
    app = consumer_app(redis_url, smtp_server.url)
    alert_delivered(app, consumer_app, smtp_server)
