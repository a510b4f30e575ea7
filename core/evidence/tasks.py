"""The sealing task: every minute, seal what was committed since the last seal."""

import logging

from huey import crontab

from core.evidence.seal import seal_all

log = logging.getLogger(__name__)


def register(huey, app):
    """Register ``evidence.seal`` on ``huey`` (each run in an app context)."""

    @huey.periodic_task(crontab(minute="*"), name="evidence.seal")
    def seal_task():
        with app.app_context():
            made = seal_all()
            if any(made.values()):
                log.info("sealed %s", made)

    app.extensions["evidence.tasks"] = {"seal": seal_task}
