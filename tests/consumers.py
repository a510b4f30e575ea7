"""Real task consumers for tests: an app on the test database and a real queue (SqliteHuey or
RedisHuey, tasks not run at once), and ``huey_consumer wsgi.huey`` processes started on both
with the same settings (as ``ACTIVITY_STREAM_*`` variables), stopped when the test ends."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import stop_process

ROOT = Path(__file__).resolve().parents[1]
CONSUMER = Path(sys.executable).parent / "huey_consumer"
# One worker thread, polling fast: a test waits on what the consumer does, not on its sleep.
FAST = ("-k", "thread", "-w", "1", "-d", "0.05", "-m", "0.2", "-b", "1.2", "-q")


class Consumers:
    """``start(**settings)`` builds the app; ``consumer()`` starts a consumer process on the
    same settings; ``stop()`` ends every process started."""

    def __init__(self, make_app):
        self.make_app = make_app
        self.env = None
        self.processes = []

    def start(self, **settings):
        """Return a migrated app with ``settings`` (its queue flushed: a shared Redis may hold
        another test's tasks), and remember them for the consumers."""
        app = self.make_app(**{**settings, "HUEY_IMMEDIATE": False})
        app.extensions["huey"].flush()
        env = {key: value for key, value in os.environ.items() if "ACTIVITY_STREAM_" not in key}
        env.update({f"ACTIVITY_STREAM_{key}": str(value) for key, value in settings.items()})
        env["PYTHONPATH"] = str(ROOT)
        self.env = env
        return app

    def consumer(self):
        """Start one ``huey_consumer wsgi.huey`` process; return it (``Popen``)."""
        process = subprocess.Popen(
            [str(CONSUMER), "wsgi.huey", *FAST],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.processes.append(process)
        return process

    def stop(self):
        """Stop every consumer still running."""
        for process in self.processes:
            if process.poll() is None:
                stop_process(process)
            process.stderr.close()
