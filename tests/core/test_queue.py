"""The task queue: a plugin's task, enqueued by the app, is run by a real huey consumer."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import migrations
from core.app import create_app
from core.db import database
from core.people import Team
from tests.conftest import stop_process
from tests.core.queue_worker import QueuePlugin

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = Path(sys.executable).parent / "huey_consumer"


@pytest.fixture
def start_queue(tmp_path):
    """Return ``start(huey_url)``: a migrated SQLite app and a consumer process sharing it."""
    consumers = []

    def start(huey_url):
        settings = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'queue.db'}",
            "HUEY_URL": huey_url,
            "SECRET_KEY": "queue-test-secret-0123456789",
        }
        plugin = QueuePlugin()
        app = create_app({**settings, "INSTANCE_PATH": str(tmp_path / "instance")}, [plugin])
        with app.app_context():
            migrations.upgrade(app)
        env = {key: value for key, value in os.environ.items() if "ACTIVITY_STREAM_" not in key}
        env.update({f"ACTIVITY_STREAM_{key}": value for key, value in settings.items()})
        env["PYTHONPATH"] = str(ROOT)
        consumers.append(
            subprocess.Popen(
                [str(CONSUMER), "tests.core.queue_worker.huey", "-w", "1", "-m", "0.5", "-q"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        return app, plugin, consumers[-1]

    yield start
    for consumer in consumers:
        stop_process(consumer)
        consumer.stderr.close()
    if not database.is_closed():
        database.close()


def wait_for_team(app, consumer, name, timeout=15):
    """Wait until the consumer has written the team ``name``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            if Team.select().where(Team.name == name).exists():
                return
        if consumer.poll() is not None:
            pytest.fail(f"the consumer exited: {consumer.stderr.read().decode()}")
        time.sleep(0.1)
    pytest.fail(f"the consumer did not run the task within {timeout} s")


def run_one_task(app, plugin, consumer, name):
    assert not app.extensions["huey"].immediate  # only the consumer can run it
    with app.app_context():
        assert not Team.select().where(Team.name == name).exists()
    plugin.add_team(name)
    wait_for_team(app, consumer, name)


def test_a_sqlite_huey_consumer_runs_a_plugin_task(start_queue, tmp_path):
    app, plugin, consumer = start_queue(f"sqlite:///{tmp_path / 'huey.db'}")
    run_one_task(app, plugin, consumer, "Queued on SqliteHuey")


def test_a_redis_huey_consumer_runs_a_plugin_task(start_queue, redis_url):
    app, plugin, consumer = start_queue(redis_url)
    run_one_task(app, plugin, consumer, "Queued on RedisHuey")
