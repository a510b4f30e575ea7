"""The minute's task: one evaluation round (``evaluate.evaluate_all``)."""

import logging

log = logging.getLogger(__name__)


def register(huey, app):
    """Register ``alerts.evaluate`` on ``huey``: every minute, in an app context of ``app``."""
    from huey import crontab

    from plugins.alerts.evaluate import evaluate_all

    @huey.periodic_task(crontab(minute="*"), name="alerts.evaluate")
    def evaluate_task():
        with app.app_context():
            queued = evaluate_all(app)
            if queued:
                log.info("%s alert mail(s) queued", queued)

    app.extensions["alerts.tasks"] = {"evaluate": evaluate_task}
