"""The task queue (huey), for side effects only: mail, pruning, exports, webhooks.

An audit record is never only in the queue: huey does not survive a kill -9 with its
in-flight tasks, so every record is written to the database before a task is enqueued.
"""

from urllib.parse import unquote
from urllib.parse import urlsplit

from huey import MemoryHuey
from huey import RedisHuey
from huey import SqliteHuey

from core import retention
from core.db import database
from core.evidence import tasks as evidence_tasks
from core.listing import export_jobs
from core.plugins import call_at_startup

QUEUE_NAME = "activity_stream"


def make_huey(url, immediate=False):
    """Build the huey instance for ``url``: ``sqlite:///file``, ``redis://...`` or ``memory://``."""
    scheme = urlsplit(url).scheme
    if scheme == "redis":
        return RedisHuey(QUEUE_NAME, url=url, immediate=immediate, utc=True)
    if scheme == "sqlite":
        path = unquote(urlsplit(url).path)[1:]
        return SqliteHuey(QUEUE_NAME, filename=path, immediate=immediate, utc=True)
    return MemoryHuey(QUEUE_NAME, immediate=immediate, utc=True)


def init_app(app):
    """Build ``app``'s huey, let plugins register their tasks, and manage worker connections."""
    huey = make_huey(app.config["HUEY_URL"], immediate=app.config["HUEY_IMMEDIATE"])
    app.extensions["huey"] = huey

    @huey.pre_execute()
    def _connect(task):
        # Each consumer worker thread holds its own connection (peewee keeps them per thread).
        database.connect(reuse_if_open=True)

    export_jobs.register(huey, app)  # core's own: large exports, and sealing
    evidence_tasks.register(huey, app)
    retention.register(huey, app)  # and the hourly prune of old records
    call_at_startup(app, "register_tasks", huey=huey, app=app)
    return huey
