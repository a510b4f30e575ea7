"""The huey tasks: deliver one message (retried with a doubling wait), sweep lost ones, and
read the bounces back from the return-path mailbox every five minutes (when one is set).

Tasks run in the consumer without an app context (``huey_consumer wsgi.huey`` builds the app
once, but runs each task in a plain worker thread), so everything they need is read from the
configuration here, when the tasks are registered.
"""

import logging

from huey import crontab
from huey.exceptions import RetryTask

from plugins.email import sender

log = logging.getLogger(__name__)


def register(huey, app):
    """Register the delivery task and the sweep on ``huey``; keep the hand-over on ``app``."""
    settings = sender.Settings.from_config(app.config)

    @huey.task(name="email.deliver")
    def deliver(message_id):
        wait = sender.deliver(message_id, settings)
        if wait is not None:
            # The row is queued again with its lease past this retry; huey keeps the retry in
            # its schedule, and if that is lost the sweep finds the row.
            raise RetryTask(delay=wait)

    @huey.periodic_task(crontab(minute="*"), name="email.sweep")
    def sweep():
        hand_over(sender.sweep(settings.lease_seconds))

    bounce_config = {
        key: app.config.get(key)
        for key in (
            "EMAIL_BOUNCE_MAILDIR",
            "EMAIL_BOUNCE_IMAP_URL",
            "EMAIL_BOUNCE_IMAP_DONE_FOLDER",
            "SMTP_TIMEOUT",
        )
    }

    @huey.periodic_task(crontab(minute="*/5"), name="email.read_bounces")
    def read_bounces():
        from plugins.email import bounces

        try:
            tally = bounces.read_configured(bounce_config)
        except Exception:  # a mailbox down now is read at the next run
            log.exception("could not read the bounce mailbox; trying again in five minutes")
            return
        if tally is not None and tally.messages:
            log.info("bounces: %s", tally.line())

    def hand_over(message_ids):
        """Enqueue delivery of ``message_ids`` (after their commit); never raises: a message
        that could not be enqueued is found by the sweep once its lease runs out."""
        for message_id in message_ids:
            try:
                deliver(message_id)
            except Exception:
                log.exception("could not enqueue email %s; the sweep will retry it", message_id)

    app.extensions["email.hand_over"] = hand_over
    app.extensions["email.tasks"] = {
        "deliver": deliver,
        "sweep": sweep,
        "read_bounces": read_bounces,
    }
    app.extensions["email.settings"] = settings
