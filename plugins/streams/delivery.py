"""Sending a destination its records: in order, at least once, signed, with backoff.

The records are never copied at write time. Each destination keeps, per tab, the id of the last
record its receiver acknowledged (``StreamCursor``), and a sending round reads what came after
it through the tab's one query function, as the destination's owner may see it, with the
destination's search (``core.listing.follow.read_after``: below the commit horizon, so a record
that commits late is never passed over). So:

- **never lost**: a record is in the stream once its action commits (it is the record itself),
  whatever happens to the web server or the consumer afterwards;
- **at least once, in order**: one round at a time per destination (a lease on its row), and its
  place moves past a batch only after a 2xx answer, in one transaction with the delivery log;
  a consumer killed between the answer and that commit sends the batch again (each record
  carries its id, ``<tab>:<id>``, for the receiver to drop a repeat);
- **backoff**: after a failure the destination waits ``STREAM_RETRY_SECONDS`` doubled per
  failure in a row (at most an hour); one failing for ``STREAM_PAUSE_AFTER`` is paused and
  its owner told by mail and on the Activity tab.
"""

import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import peewee
from flask import current_app
from werkzeug.datastructures import MultiDict

from core import signing
from core.db import database
from core.db import utcnow
from core.listing.feed import iso_utc
from core.listing.follow import horizon
from core.listing.follow import read_after
from core.listing.follow import start_cursor
from core.notifications import Notification
from core.notifications import notify
from core.people import User
from core.records import clip
from core.tabs import visible_tabs
from plugins.streams.client import USER_AGENT
from plugins.streams.client import Connection
from plugins.streams.destinations import list_tabs
from plugins.streams.models import ACTIVE
from plugins.streams.models import DELIVERIES_KEPT
from plugins.streams.models import PAUSED
from plugins.streams.models import StreamCursor
from plugins.streams.models import StreamDelivery
from plugins.streams.models import StreamDestination
from plugins.streams.record import record_change

log = logging.getLogger(__name__)

MAX_WAIT = 3600  # seconds: the longest wait between two tries
ROUND_SECONDS = 10  # a round stops after this long, so one busy destination shares the worker
LEASE_SECONDS = 30  # the shortest hold of a round on its destination


@dataclass(frozen=True)
class Settings:
    """What sending needs from the app's configuration."""

    batch: int
    timeout: float
    retry_seconds: float
    pause_after: float

    @classmethod
    def from_config(cls, config):
        """Read the sending settings from ``app.config``."""
        return cls(
            batch=int(config["STREAM_BATCH_RECORDS"]),
            timeout=float(config["STREAM_TIMEOUT"]),
            retry_seconds=float(config["STREAM_RETRY_SECONDS"]),
            pause_after=float(config["STREAM_PAUSE_AFTER"]),
        )

    @property
    def lease_seconds(self):
        """How long a round holds its destination, renewed at each batch: two requests'
        time and some, so a round killed mid-way holds it only that long."""
        return max(2 * self.timeout + 10, LEASE_SECONDS)


def due_destinations(now=None):
    """Return the ids of the active destinations with records past their place in a tab they
    send, not waiting for a retry nor held by a round.

    Read without writing anything: an idle stream costs the database a few reads a second,
    and a destination is claimed (a write) only when it has something to send."""
    now = now or utcnow()
    D = StreamDestination
    query = D.select(D.id, D.tabs).where(
        (D.state == ACTIVE)
        & (D.next_attempt_at.is_null() | (D.next_attempt_at <= now))
        & (D.lease_until.is_null() | (D.lease_until < now))
    )
    rows = list(query.order_by(D.id))
    if not rows:
        return []
    newest = {tab.name: horizon(tab.feed) - 1 for tab in list_tabs()}
    places = {}
    for place in StreamCursor.select().where(StreamCursor.destination_id.in_([r.id for r in rows])):
        places[(place.destination_id, place.tab)] = place.last_id
    due = []
    for row in rows:
        names = row.tab_names() or list(newest)
        # A tab without a place yet (installed since) is due: its place is made in the round.
        if any(places.get((row.id, name), -1) < newest.get(name, 0) for name in names):
            due.append(row.id)
    return due


def claim(destination_id, settings):
    """Take destination ``destination_id`` for one round; return the lease's token, or None
    when it is paused, waiting for a retry, gone, or another round holds it."""
    now = utcnow()
    token = secrets.token_hex(8)
    D = StreamDestination
    taken = (
        D.update(lease_until=now + timedelta(seconds=settings.lease_seconds), lease_token=token)
        .where(
            (D.id == destination_id)
            & (D.state == ACTIVE)
            & (D.next_attempt_at.is_null() | (D.next_attempt_at <= now))
            & (D.lease_until.is_null() | (D.lease_until < now))
        )
        .execute()
    )
    return token if taken == 1 else None


def send_round(destination_id, settings, seconds=ROUND_SECONDS):
    """Send destination ``destination_id`` what is new for it, batch by batch, until it is
    caught up, a request fails, or ``seconds`` passed; return the records acknowledged.

    Runs in an app context of its own (what the owner may see is read afresh each round)."""
    token = claim(destination_id, settings)
    if token is None:
        return 0
    held = (StreamDestination.id == destination_id) & (StreamDestination.lease_token == token)
    destination = StreamDestination.get_by_id(destination_id)
    connection = Connection(destination.url, settings.timeout)
    sent = 0
    try:
        owner = User.get_or_none(User.id == destination.owner_id)
        if owner is None or not owner.is_active or not owner.is_admin:
            pause(held, destination, owner, "its owner may no longer read the stream")
            return 0
        deadline = time.monotonic() + seconds
        blocked = []
        seen = {tab.name for tab in visible_tabs(owner)}
        for tab in sendable_tabs(destination):
            if tab.name not in seen:
                # Held, not skipped: the records wait until the owner may see the tab again
                # (or the tab is taken off the destination), so the stream has no gap.
                blocked.append(tab.label)
                continue
            filters = tab.feed.filters.read(MultiDict({"q": destination.query}), owner)
            if filters.refusal:
                pause(held, destination, owner, f"its search is refused now: {filters.refusal}")
                return sent
            done, count = _send_tab(
                held, destination, tab, owner, filters, connection, settings, deadline
            )
            sent += count
            if not done:
                return sent
        note = f"not sending {', '.join(blocked)}: {owner.name} may not see it" if blocked else ""
        if note != StreamDestination.get_by_id(destination_id).last_error:
            StreamDestination.update(last_error=note).where(
                held & (StreamDestination.failures == 0)
            ).execute()
        return sent
    finally:
        connection.close()
        StreamDestination.update(lease_until=None, lease_token=None).where(held).execute()


def sendable_tabs(destination):
    """Return the list tabs ``destination`` sends (its choice, or every list tab)."""
    chosen = destination.tab_names()
    tabs = list_tabs()
    return [tab for tab in tabs if tab.name in chosen] if chosen else tabs


def _send_tab(held, destination, tab, owner, filters, connection, settings, deadline):
    """Send one tab's new records; return ``(caught_up_or_out_of_time, records_sent)``:
    ``(False, n)`` when a request failed (the round ends)."""
    sent = 0
    cursor = _cursor(destination.id, tab)  # then kept here: each move is checked against it
    while time.monotonic() < deadline:
        rows, upto = next_batch(tab.feed, owner, filters, cursor, settings.batch)
        if upto == cursor:
            return True, sent  # caught up
        if not rows:  # only records this destination does not send: move past them
            if not _advance(held, destination.id, tab.name, cursor, upto, settings.lease_seconds):
                return False, sent
            cursor = upto
            continue
        records = [
            {"id": f"{tab.name}:{data['id']}", "tab": tab.name, "data": data}
            for data in tab.feed.records_data(owner, rows)
        ]
        body = payload(destination, records)
        answer = connection.post(body, headers(destination, body))
        if not answer.ok:
            fail(held, destination, owner, answer, tab.name, rows, settings)
            return False, sent
        lease = settings.lease_seconds
        if not succeed(held, destination, tab.name, cursor, upto, rows, answer, lease):
            return False, sent  # the lease was lost: another round has the destination
        sent += len(rows)
        cursor = upto
        if len(rows) < settings.batch:
            # Caught up. What commits meanwhile goes in the next round, a second later, in one
            # request, rather than chasing the writers one small batch (one commit) at a time.
            return True, sent
    return True, sent


def next_batch(feed, owner, filters, cursor, size):
    """Return ``(rows, upto)``: up to ``size`` records after ``cursor`` that ``owner`` may see
    under ``filters``, oldest first, and the place to keep once they are acknowledged (the last
    row's id when the batch is full, else the end of what was read). ``upto == cursor``: none."""
    rows = []
    while len(rows) < size:
        # Windows of ``size`` ids: a batch never reads much more than it sends.
        found, end = read_after(feed, owner, filters, cursor, span=max(size, 100))
        if end == cursor:
            break
        if len(rows) + len(found) >= size:
            rows += found[: size - len(rows)]
            return rows, rows[-1].id
        rows += found
        cursor = end
    return rows, cursor


def payload(destination, records, kind="records"):
    """Return the JSON body (bytes) of one request: the records and what they are."""
    body = {
        "type": kind,
        "destination": destination.id,
        "sent_at": iso_utc(utcnow()),
        "records": records,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def headers(destination, body):
    """Return the headers of a request carrying ``body``: its signature and delivery id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Activity-Stream-Delivery": str(uuid.uuid4()),
        "Activity-Stream-Destination": str(destination.id),
        signing.HEADER: signing.header_value(destination.secret, body),
    }


def _cursor(destination_id, tab):
    row = StreamCursor.get_or_none(
        (StreamCursor.destination_id == destination_id) & (StreamCursor.tab == tab.name)
    )
    if row is not None:
        return row.last_id
    # A tab installed after the destination was added: it starts from the tab's newest record.
    StreamCursor.insert(
        destination_id=destination_id, tab=tab.name, last_id=start_cursor(tab.feed)
    ).on_conflict("ignore").execute()
    return _cursor(destination_id, tab)


def _advance(held, destination_id, tab, cursor, upto, lease_seconds):
    """Move the destination's place in ``tab`` from ``cursor`` to ``upto`` while the round
    still holds it; tell whether it did."""
    with database.atomic():
        return _move(held, destination_id, tab, cursor, upto, lease_seconds)


def _move(held, destination_id, tab, cursor, upto, lease_seconds=LEASE_SECONDS):
    # Renewing the lease is also the check that this round still holds the destination.
    lease = utcnow() + timedelta(seconds=lease_seconds)
    if not StreamDestination.update(lease_until=lease).where(held).execute():
        return False
    moved = (
        StreamCursor.update(last_id=upto)
        .where(
            (StreamCursor.destination_id == destination_id)
            & (StreamCursor.tab == tab)
            & (StreamCursor.last_id == cursor)
        )
        .execute()
    )
    if not moved:
        raise peewee.IntegrityError("the stream's place moved under a held lease")
    return True


def succeed(held, destination, tab, cursor, upto, rows, answer, lease_seconds=LEASE_SECONDS):
    """Record an acknowledged batch: the new place, the delivery, the destination healthy;
    in one transaction, while the round holds the destination. Tell whether it did."""
    now = utcnow()
    with database.atomic() as transaction:
        if not _move(held, destination.id, tab, cursor, upto, lease_seconds):
            transaction.rollback()
            return False
        StreamDestination.update(
            failures=0,
            failing_since=None,
            next_attempt_at=None,
            last_success_at=now,
            last_error="",
            delivered=StreamDestination.delivered + len(rows),
        ).where(held).execute()
        logged = _log(destination.id, answer, tab, rows, attempt=1)
        if logged % 50 == 0:  # now and then: the log keeps its latest lines
            _trim_log(destination.id)
    return True


def fail(held, destination, owner, answer, tab, rows, settings):
    """Record a failed batch: the delivery, the next try after a doubling wait, and the pause
    once the destination has failed for ``settings.pause_after`` seconds."""
    now = utcnow()
    D = StreamDestination
    current = D.get_by_id(destination.id)
    failures = current.failures + 1
    since = current.failing_since or now
    wait = min(settings.retry_seconds * 2 ** (failures - 1), MAX_WAIT)
    error = answer.error or f"answered {answer.status}"
    with database.atomic():
        D.update(
            failures=failures,
            failing_since=since,
            next_attempt_at=now + timedelta(seconds=wait),
            last_error=clip(f"{error}; next try in {wait:g} s", 500),
        ).where(held).execute()
        _log(destination.id, answer, tab, rows, attempt=failures)
        if (now - since).total_seconds() >= settings.pause_after:
            hours = (now - since).total_seconds() / 3600
            pause(held, current, owner, f"failing for {hours:.0f} hours: {error}")


def pause(held, destination, owner, reason):
    """Pause the destination with ``reason``; tell its owner by mail and record it."""
    with database.atomic():
        paused = (
            StreamDestination.update(state=PAUSED, paused_reason=clip(reason, 300))
            .where(held & (StreamDestination.state == ACTIVE))
            .execute()
        )
        if not paused:
            return
        record_change(None, "paused", destination, clip(reason, 300))
        if owner is not None and owner.is_active:
            notify(
                Notification(
                    kind="stream.paused",
                    recipients=(owner,),
                    subject=f"Log stream {destination.name!r} is paused",
                    template="streams/paused",
                    context={
                        "destination": destination,
                        "reason": reason,
                        "settings_url": current_app.config["PUBLIC_URL"]
                        + "/stream/settings#streams",
                    },
                )
            )


def _log(destination_id, answer, tab, rows, attempt, test=False):
    return StreamDelivery.insert(
        destination_id=destination_id,
        started_at=utcnow() - timedelta(milliseconds=answer.latency_ms),
        latency_ms=answer.latency_ms,
        status_code=answer.status,
        ok=answer.ok,
        tab=tab,
        records=len(rows),
        first_id=rows[0].id if rows else None,
        last_id=rows[-1].id if rows else None,
        attempt=attempt,
        test=test,
        error=clip(answer.error, 500),
    ).execute()


def _trim_log(destination_id):
    """Keep the latest ``DELIVERIES_KEPT`` deliveries of the destination."""
    L = StreamDelivery
    oldest_kept = (
        L.select(L.id)
        .where(L.destination_id == destination_id)
        .order_by(L.id.desc())
        .offset(DELIVERIES_KEPT - 1)
        .limit(1)
        .scalar()
    )
    if oldest_kept is not None:
        L.delete().where((L.destination_id == destination_id) & (L.id < oldest_kept)).execute()


def send_test(destination, settings):
    """Send ``destination`` a test record now, signed as records are; log it; return the
    ``Answer``. It does not move the destination's place nor count as a failure."""
    record = {
        "id": f"test:{uuid.uuid4()}",
        "tab": "test",
        "data": {"message": "A test record: this destination receives the stream."},
    }
    body = payload(destination, [record], kind="test")
    connection = Connection(destination.url, min(settings.timeout, 10))
    try:
        answer = connection.post(body, headers(destination, body))
    finally:
        connection.close()
    _log(destination.id, answer, "test", [], attempt=1, test=True)
    return answer


def resume(destination_id):
    """Make a paused destination active again, to be tried at once; tell whether it was
    paused."""
    D = StreamDestination
    return bool(
        D.update(
            state=ACTIVE,
            paused_reason="",
            failures=0,
            failing_since=None,
            next_attempt_at=None,
        )
        .where((D.id == destination_id) & (D.state == PAUSED))
        .execute()
    )
