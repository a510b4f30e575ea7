"""``email.0003_delivery_truth`` takes an outbox of the release before it forward: its messages
keep every row, get no report, and the new tables and indexes appear. SQLite and PostgreSQL."""

from core import migrations
from core.db import database
from plugins.email.models import EmailMessage


def test_an_older_outbox_is_upgraded_keeping_its_messages(app):
    with app.app_context():
        EmailMessage.create(
            kind="notice",
            recipient_id=1,
            recipient_name="Dana",
            recipient_email="dana@example.com",
            subject="Before",
            text_body="x",
            html_body="<p>x</p>",
            message_id="<before@example.com>",
            status="sent",
        )
        # Put the schema back as the release before this one left it.
        with database.atomic():
            for index in ("email_message_delivery_id", "email_message_message_id"):
                database.execute_sql(f"DROP INDEX {index}")
            for column in ("delivery", "delivery_detail", "delivery_at"):
                database.execute_sql(f"ALTER TABLE email_message DROP COLUMN {column}")
            database.execute_sql("DROP TABLE email_delivery_report")
            database.execute_sql("DROP TABLE email_suppression")
            database.execute_sql(
                "DELETE FROM schema_migration WHERE name = 'email.0003_delivery_truth'"
            )
        assert migrations.upgrade(app) == ["email.0003_delivery_truth"]
        (message,) = EmailMessage.select()
        assert (message.subject, message.delivery, message.delivery_at) == ("Before", "none", None)
        assert database.table_exists("email_delivery_report")
        assert database.table_exists("email_suppression")
        indexes = {index.name for index in database.get_indexes("email_message")}
        assert {"email_message_delivery_id", "email_message_message_id"} <= indexes
        assert migrations.upgrade(app) == []
