"""kill -9 of a web server on PostgreSQL in the middle of a burst of workspace edits: every
acknowledged change has exactly one event, no event exists without its change, none is twice,
and the restarted server records and announces the next change.

The edit is "create a company": one row, one ``company.created`` event naming its id, a unique
name per attempt, and an answer (a redirect to the new company's page) that names the id.
"""

import http.client
import os
import re
import signal
import threading
import time
from pathlib import Path

from tests.scale.conftest import HttpClient
from tests.scale.conftest import host_env
from tests.scale.conftest import query
from tests.scale.conftest import seed_people
from tests.scale.conftest import serve

ATTEMPTS = 300  # edits the clients try, in all
KILL_AFTER = 100  # acknowledged edits before the server is killed: mid-burst
CLIENTS = 4  # threads posting at once: more requests in flight than the 2 sync workers
CREATED = re.compile(r"/workspace/companies/(\d+)$")


class Burst:
    """``CLIENTS`` threads creating companies "Crash NNNN" as fast as the server answers, each
    noting the edits it saw acknowledged (a redirect naming the new company) until the server
    is gone."""

    def __init__(self, signed_in):
        self.signed_in = signed_in
        self.lock = threading.Lock()
        self.next_index = 0
        self.acknowledged = {}  # company name -> id, from the redirect
        self.refused = []  # (name, status): an answer that is not an acknowledgement
        self.cut = []  # names whose request the dead server never answered
        self.enough = threading.Event()
        self.threads = [threading.Thread(target=self._post, daemon=True) for _ in range(CLIENTS)]

    def start(self):
        """Start the client threads."""
        for thread in self.threads:
            thread.start()

    def join(self):
        """Wait for every client thread to stop."""
        for thread in self.threads:
            thread.join(timeout=30)

    def _take(self):
        with self.lock:
            if self.next_index >= ATTEMPTS:
                return None
            self.next_index += 1
            return f"Crash {self.next_index:04d}"

    def _post(self):
        client = HttpClient(self.signed_in.base_url)
        client.cookies = dict(self.signed_in.cookies)
        client.csrf_token = self.signed_in.csrf_token
        while (name := self._take()) is not None:
            try:
                status, headers, _ = client.request(
                    "POST", "/workspace/companies/new", {"name": name, "industry": "Crash test"}
                )
            except (OSError, http.client.HTTPException):
                # The server is gone: before the answer, or in the middle of it (a threaded
                # worker killed while writing a response leaves it cut short).
                with self.lock:
                    self.cut.append(name)
                return
            created = CREATED.search(headers.get("Location") or "")
            with self.lock:
                if status == 302 and created:
                    self.acknowledged[name] = int(created.group(1))
                    if len(self.acknowledged) >= KILL_AFTER:
                        self.enough.set()
                else:
                    self.refused.append((name, status))


def _state_and_parent(stat):
    """Return (state letter, parent id) from a ``/proc/<pid>/stat`` file, or None once ended."""
    try:
        state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
    except (OSError, ValueError):
        return None
    return state, int(parent)


def children_of(pid):
    """Return the ids of the processes whose parent is ``pid`` (gunicorn's workers)."""
    return [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if (_state_and_parent(stat) or ("", None))[1] == pid
    ]


def running(pid):
    """Tell whether process ``pid`` still runs (a killed one waiting to be reaped does not)."""
    found = _state_and_parent(Path(f"/proc/{pid}/stat"))
    return found is not None and found[0] not in ("Z", "X")


def kill_server(server):
    """kill -9 gunicorn's master, then each of its workers (none left to be restarted)."""
    workers = children_of(server.pid)
    assert workers, "gunicorn has no workers to kill"
    os.kill(server.pid, signal.SIGKILL)
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    server.wait()
    return workers


def wait_for_other_backends_to_end(database_url, seconds=15):
    """Wait until no other connection to the database is left (a dead client's backend ends
    once it finds its socket closed, after finishing what it had received)."""
    others = (
        "SELECT COUNT(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + seconds
    while query(database_url, others)[0][0]:
        assert time.monotonic() < deadline, "backends of the killed server are still running"
        time.sleep(0.05)


def test_kill_9_mid_burst_loses_no_acknowledged_change_and_records_none_twice(
    scale_database, scale_redis, tmp_path
):
    env = host_env(scale_database, scale_redis)
    seed_people(env)
    with serve("127.0.0.1", env, tmp_path / "gunicorn.log") as (base_url, server):
        admin = HttpClient(base_url)
        admin.sign_in("admin@example.com")
        burst = Burst(admin)
        burst.start()
        assert burst.enough.wait(timeout=60), (tmp_path / "gunicorn.log").read_text()
        workers = kill_server(server)
        burst.join()

    deadline = time.monotonic() + 5
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.01)  # SIGKILL is delivered asynchronously
    assert not [pid for pid in workers if running(pid)], "a worker survived the kill"
    # A worker killed just after sending COMMIT leaves its backend to finish it: read the
    # outcome only once every backend of the dead server has ended, or a commit landing
    # between the two reads below would show an event whose change the first read missed.
    wait_for_other_backends_to_end(scale_database)
    assert burst.refused == [], burst.refused
    acknowledged = burst.acknowledged
    assert KILL_AFTER <= len(acknowledged) < ATTEMPTS, "the kill did not land mid-burst"
    assert burst.cut, "no request was in flight when the server died"

    crash_companies = "SELECT name, id FROM workspace_company WHERE name LIKE 'Crash %'"
    companies = dict(query(scale_database, crash_companies))
    events = query(
        scale_database,
        "SELECT e.object_id, COUNT(DISTINCT e.id), COUNT(a.party) FROM activity_event e"
        " LEFT JOIN activity_audience a ON a.event_id = e.id"
        " WHERE e.verb = 'company.created' GROUP BY e.object_id",
    )
    events_of = {int(object_id): count for object_id, count, _ in events}
    # Every acknowledged change is there, with exactly one event.
    for name, company_id in acknowledged.items():
        assert companies.get(name) == company_id, f"acknowledged {name} is lost"
        assert events_of.get(company_id) == 1, f"{name}: {events_of.get(company_id)} events"
    # No event without its change, no change without its event (acknowledged or not), none twice.
    assert set(events_of) == set(companies.values())
    assert set(events_of.values()) == {1}
    assert all(parties > 0 for _, _, parties in events), "an event lost its audience"
    print(
        f"\n{len(acknowledged)} edits acknowledged, {len(companies) - len(acknowledged)} "
        f"committed unacknowledged, {len(burst.cut)} cut by the kill of {len(workers)} workers"
    )

    # The database is whole: a restarted server records the next change, and the "N new"
    # poll counts it (no marker of a killed writer holds the readers back).
    (newest,) = query(scale_database, "SELECT MAX(id) FROM activity_event")[0]
    with serve("127.0.0.1", env, tmp_path / "gunicorn-restarted.log") as (base_url, _):
        admin = HttpClient(base_url)
        admin.sign_in("admin@example.com")
        status, headers, _ = admin.request(
            "POST", "/workspace/companies/new", {"name": "After the crash"}
        )
        assert status == 302 and CREATED.search(headers["Location"]), status
        poll = f"/stream/activity/new?since={newest}"
        status, _, banner = admin.request("GET", poll, htmx=True)
        assert status == 200
        assert "1 new event " in banner, banner
