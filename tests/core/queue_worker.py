"""A huey consumer target for the queue tests: ``huey_consumer tests.core.queue_worker.huey``.

The app is built from the ``ACTIVITY_STREAM_*`` variables with ``QueuePlugin`` registered, on
first access to ``huey``, so the tests can import the plugin without building an app.
"""

from core import hookimpl
from core.db import database
from core.people import Team


class QueuePlugin:
    """Registers one task whose side effect a test can see: it writes a Team row."""

    def __init__(self):
        self.add_team = None

    @hookimpl
    def register_tasks(self, huey, app):
        @huey.task()
        def add_team(name):
            with database.atomic():
                Team.create(name=name, description="written by the huey consumer")

        self.add_team = add_team


def __getattr__(name):
    if name != "huey":
        raise AttributeError(name)
    from core.app import create_app

    global huey
    huey = create_app(plugins=[QueuePlugin()]).extensions["huey"]
    return huey
