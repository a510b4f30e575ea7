"""Log streams delivered by real huey consumer processes (``huey_consumer wsgi.huey``) to a real
HTTP receiver on loopback, the consumer killed with SIGKILL several times mid-stream: every
record arrives, at most one batch is sent again per kill, every request is signed, the order is
kept; on SQLite with SqliteHuey and on PostgreSQL with RedisHuey. Also: records committed by a
process killed right after its commit are sent."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import build_entry
from core.events import record_entries
from core.people import User
from plugins.streams import destinations
from plugins.streams.models import StreamCursor
from plugins.streams.models import StreamDestination
from plugins.streams.tasks import pump_once
from tests.consumers import Consumers
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
SECRET = "kill-test-secret-0123456789"
TOTAL = 10_000
BATCH = 200
KILLS = 3


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def streaming(make_app, people, database_url):
    """Return ``start(huey_url)``: an app on the test database and queue (tasks not run at
    once), and ``start.consumer()`` starting a ``huey_consumer wsgi.huey`` process on both."""
    del people
    consumers = Consumers(make_app)

    def start(huey_url):
        return consumers.start(
            DATABASE_URL=database_url,
            HUEY_URL=huey_url,
            SECRET_KEY="streams-kill-test-secret-0123456789",
            STREAM_BATCH_RECORDS=BATCH,
            STREAM_TIMEOUT=5,
            STREAM_RETRY_SECONDS=1,
        )

    start.consumer = consumers.consumer
    yield start
    consumers.stop()


def add_destination(app, url):
    """Add a destination sending the Activity tab, as the Super Admin sees it; return its id."""
    with app.app_context():
        owner = User.get(User.email == "owner@example.com")
        return destinations.add(owner, "SIEM", url, tabs=["activity"], secret=SECRET).id


def record_bulk(app, count):
    """Record ``count`` Activity events through the bulk path (one transaction per 5,000)."""
    with app.app_context():
        actor = User.get(User.email == "admin@example.com")
        ids = []
        for start in range(0, count, 5000):
            entries = [
                build_entry(actor, "task.updated", Ref("task", n, f"Task {n}"))
                for n in range(start, min(count, start + 5000))
            ]
            with database.atomic():
                ids += record_entries(entries)
        return ids


def activity_ids(body):
    """Return the Activity record ids of one request's body."""
    return [int(record["id"].split(":")[1]) for record in body["records"]]


def wait_until(check, consumer, timeout=60, what="the consumer", every=0.01):
    """Poll ``check()`` every ``every`` seconds until true; fail if ``consumer`` exits or
    ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if consumer.poll() is not None:
            pytest.fail(f"{what}: the consumer exited: {consumer.stderr.read().decode()[-3000:]}")
        time.sleep(every)
    pytest.fail(f"{what}: not done within {timeout} s")


def place(app, destination_id):
    """Return the destination's place in the Activity tab (the last id acknowledged)."""
    with app.app_context():
        return StreamCursor.get(
            StreamCursor.destination_id == destination_id, tab="activity"
        ).last_id


def requests_received(receiver):
    with receiver.lock:
        return len(receiver.requests)


def kill_mid_stream(streaming, app, receiver, kills=KILLS, total=TOTAL):
    """Stream ``total`` records to ``receiver`` by consumer processes, killing the consumer
    (SIGKILL) ``kills`` times as records arrive and starting a new one each time; check that
    every record arrived, in order, signed, with at most one batch sent again per kill."""
    destination_id = add_destination(app, receiver.url)
    start = place(app, destination_id)
    ids = record_bulk(app, total)
    kick = app.extensions["streams.kick"]
    consumer = streaming.consumer()
    kick()  # enqueue the first pump of a chain into the real queue
    batches = -(-total // BATCH)
    for kill in range(1, kills + 1):
        target = batches * kill // (kills + 1)
        if kill % 2:
            # Just after a request arrived: most often before its answer's commit, so that
            # batch is sent again.
            wait_until(lambda target=target: requests_received(receiver) >= target, consumer)
        else:
            # Just after the place moved: a sender moving it before the request would lose
            # the batch here.
            moved = start + target * BATCH
            # Polled often: the sooner after the move, the likelier before the request.
            wait_until(lambda m=moved: place(app, destination_id) >= m, consumer, every=0.001)
        assert requests_received(receiver) < batches, f"the stream ended before kill {kill}"
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        # Stand-in for the killed round's lease running out (120 s at least, not configurable):
        # the next round may take the destination now.
        with app.app_context():
            StreamDestination.update(lease_until=None).where(
                StreamDestination.id == destination_id
            ).execute()
        consumer = streaming.consumer()
        # The killed consumer's chain is lost with it; the watchdog would start a new one
        # within a minute or two. Start it now instead, as adding a destination does.
        kick()

    # Done when the place reached the last record: it moves only past acknowledged batches.
    wait_until(lambda: place(app, destination_id) >= ids[-1], consumer, what="the stream's end")
    with app.app_context():
        held = {
            row.id for row in ActivityEvent.select(ActivityEvent.id).where(ActivityEvent.id > start)
        }

    receiver.verify_all(SECRET)
    bodies = receiver.bodies()
    seen = set()
    firsts = []
    again = partly_again = repeated = 0
    for body in bodies:
        got = activity_ids(body)
        fresh = [record_id for record_id in got if record_id not in seen]
        repeated += len(got) - len(fresh)
        if not fresh:
            again += 1
        elif len(fresh) < len(got):
            partly_again += 1
        firsts += fresh
        seen.update(got)
    assert set(ids) <= seen, f"{len(set(ids) - seen)} records never arrived"
    assert seen <= held, "a record arrived that the stream does not hold"
    assert firsts == sorted(firsts), "records arrived out of order"
    assert again + partly_again <= kills, f"{again} + {partly_again} batches again, {kills} kills"
    assert repeated <= kills * BATCH, f"{repeated} records again after {kills} kills"
    return {"requests": len(bodies), "again": again, "repeated": repeated}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_killed_sqlite_huey_consumers_lose_nothing_and_repeat_at_most_a_batch_each(
    streaming, tmp_path, receiver
):
    app = streaming(f"sqlite:///{tmp_path / 'huey.db'}")
    print(kill_mid_stream(streaming, app, receiver))  # seen with -s


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_killed_redis_huey_consumers_lose_nothing_and_repeat_at_most_a_batch_each(
    streaming, redis_url, receiver
):
    app = streaming(redis_url)
    print(kill_mid_stream(streaming, app, receiver))  # seen with -s


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from core.app import create_app
    from core.db import database
    from core.events import Ref, record_activity
    from core.people import User

    app = create_app({"DATABASE_URL": sys.argv[1], "HUEY_URL": "memory://",
                      "HUEY_IMMEDIATE": True, "SECRET_KEY": "writer-secret-0123456789abcdef"})
    with app.app_context():
        actor = User.get(User.email == "admin@example.com")
        with database.atomic():
            ids = [record_activity(actor, "task.updated", Ref("task", n, f"Task {n}")).id
                   for n in range(int(sys.argv[2]))]
        print(",".join(map(str, ids)), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # killed right after its commit
    """
)


def test_records_of_a_process_killed_after_its_commit_are_sent(app, people, database_url, receiver):
    del people
    add_destination(app, receiver.url)
    env = {key: value for key, value in os.environ.items() if "ACTIVITY_STREAM_" not in key}
    env["PYTHONPATH"] = str(ROOT)
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, database_url, "30"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert writer.returncode == -signal.SIGKILL, writer.stderr[-3000:]
    ids = [int(part) for part in writer.stdout.strip().split(",")]
    assert len(ids) == 30
    assert pump_once(app, app.extensions["streams.settings"]) == 30
    received = [record_id for body in receiver.bodies() for record_id in activity_ids(body)]
    assert received == ids
    receiver.verify_all(SECRET)
