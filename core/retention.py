"""Retention: each list tab's records are removed once they are older than the tab keeps them.

A tab keeps its records forever (the default) or ``days`` days: the owner and admins choose in
Settings (``RetentionPolicy``, one row per tab; the ``retention`` plugin's section), never
fewer than ``RETENTION_MIN_DAYS`` (30 by default). Each change is recorded as a Settings change.

A tab says once, in its ``Feed``, how its records go (``Prune``): the record's time column,
which the cut-off (now − days) is compared with, the rows that go with a record, and the
records kept whatever their age. A tab that says nothing is pruned by its model's one
``DateTimeField``, with nothing else removed (a plugin tab like Invoices).

The prune (``retention.prune``, hourly; ``flask stream prune``) removes, tab by tab, every
record whose time is before the cut-off, in batches of ``RETENTION_BATCH_ROWS`` (50): a batch
is read outside any transaction (oldest time first, through the time column's index), then
removed with its dependent rows in one short transaction of its own, so a writer never waits
for more than one batch; then the prune waits ``RETENTION_PAUSE_MS`` (100), so the writers
have the database (on SQLite, its one write lock) to themselves most of the time. Small
batches often rather than large ones seldom: at the same pace a writer waits less when it
meets one (``bench/retention.py``, ``docs/retention.md``). Each tab's prune that removed
something is recorded as one event (``tab.pruned``: the cut-off and the rows removed).

Why the time column and not the id: an event sent by another system carries its own time,
possibly long past, and gets the next id. Walking ids until the first record newer than the
cut-off would keep such a record, and stop at a single late-dated one; comparing every
record's time removes exactly the records older than the cut-off, whatever their id.
"""

import fcntl
import logging
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import peewee
from flask import current_app

from core.db import BaseModel
from core.db import database
from core.db import for_update
from core.db import is_sqlite
from core.db import utcnow
from core.events import ActivityAudience
from core.events import Ref
from core.events import record_activity
from core.events.models import PARTY_CHUNK
from core.evidence import guard
from core.evidence.seal import note_pruned
from core.evidence.seal import seal_model
from core.listing.sql import distinct_values

log = logging.getLogger(__name__)

MAX_DAYS = 36_500  # a hundred years: longer is "forever" by another name
COUNT_CAP = 100_000  # Settings' dry run counts up to here ("100,000+")
# Audience rows are removed per run of nearby event ids: one range per party and run. Ids
# further apart than this start a new run rather than read the rows between them.
RUN_GAP = 1000
# The prune's PostgreSQL advisory lock, in the two-integer key space beside ``db upgrade``'s.
PRUNE_LOCK_KEY = (0x61637473, 2)


class RetentionPolicy(BaseModel):
    """How long one tab keeps its records: ``days``, or None for forever (a tab without a
    row keeps them forever too)."""

    tab = peewee.CharField(max_length=40, primary_key=True)
    days = peewee.IntegerField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)
    updated_by = peewee.IntegerField(null=True)  # no foreign key: the person may be deleted

    class Meta:
        table_name = "retention_policy"


MODELS = [RetentionPolicy]


@dataclass(frozen=True)
class Prune:
    """How a list tab's records are pruned (``Feed(prune=…)``).

    - ``time``: the record's time column; a record older than the cut-off goes. It should be
      indexed: each batch reads the oldest records through it.
    - ``dependants(ids)``: deletes the rows that go with the records ``ids`` (called in the
      batch's transaction, before the records go). A full-text ``TextIndex`` needs nothing:
      the database keeps it.
    - ``keep``: a condition of the records never pruned, whatever their age (an email still
      to be sent).
    """

    time: peewee.Field
    dependants: Callable = None
    keep: peewee.Node = None


@dataclass(frozen=True)
class Outcome:
    """What one tab's prune did (or, for a dry run, would do): ``removed`` records older than
    ``cut_off`` (``days`` kept)."""

    tab: object
    days: int
    cut_off: object
    removed: int


def prune_of(feed):
    """Return how ``feed``'s records are pruned: its own ``Prune``, else by its model's one
    ``DateTimeField``; None when it declares none and has none or several (kept forever)."""
    if getattr(feed, "prune", None) is not None:
        return feed.prune
    times = [f for f in feed.model._meta.sorted_fields if isinstance(f, peewee.DateTimeField)]
    return Prune(time=times[0]) if len(times) == 1 else None


# Settings.


def min_days():
    """Return the fewest days a tab may keep its records (``RETENTION_MIN_DAYS``)."""
    return current_app.config["RETENTION_MIN_DAYS"]


def batch_rows():
    """Return the records removed per transaction (``RETENTION_BATCH_ROWS``)."""
    return current_app.config["RETENTION_BATCH_ROWS"]


def pause_seconds():
    """Return the wait between two batches (``RETENTION_PAUSE_MS``, in milliseconds)."""
    return current_app.config["RETENTION_PAUSE_MS"] / 1000


# Policies.


def policies():
    """Return ``{tab name: days}`` of every tab that keeps its records for some days."""
    query = RetentionPolicy.select(RetentionPolicy.tab, RetentionPolicy.days)
    return dict(query.where(RetentionPolicy.days.is_null(False)).tuples())


def kept_days(days):
    """Return the days a tab set to ``days`` (None: forever) keeps its records: never fewer
    than the minimum, which may have been raised since they were chosen."""
    return None if days is None else max(days, min_days())


def describe_days(days):
    """Return a retention as a person reads it: "forever", "1 day", "90 days"."""
    if days is None:
        return "forever"
    return f"{days:,} day{'' if days == 1 else 's'}"


def set_policy(actor, tab, days):
    """Keep ``tab``'s records ``days`` days (None: forever), recorded as a Settings change by
    ``actor``; return True if it changed. ``days`` is checked by the caller."""
    with database.atomic():
        # Two admins saving at once: the row is made first, then locked, so one waits.
        RetentionPolicy.insert(tab=tab.name, days=None).on_conflict_ignore().execute()
        row = for_update(RetentionPolicy.select().where(RetentionPolicy.tab == tab.name)).get()
        if row.days == days:
            return False
        old = row.days
        RetentionPolicy.update(days=days, updated_at=utcnow(), updated_by=actor.id).where(
            RetentionPolicy.tab == tab.name
        ).execute()
        record_activity(
            actor,
            "settings.updated",
            Ref("settings", tab.name, f"{tab.label} tab retention"),
            changes={"records kept": [describe_days(old), describe_days(days)]},
        )
    return True


# Pruning.


def cut_off_of(days, now=None):
    """Return the cut-off of ``days`` kept: records whose time is before it go."""
    return (now or utcnow()) - timedelta(days=days)


def prunable(feed, cut_off):
    """Return the condition of ``feed``'s records that a prune at ``cut_off`` removes."""
    prune = prune_of(feed)
    condition = prune.time < cut_off
    return condition if prune.keep is None else condition & ~prune.keep


def count_prunable(feed, days, now=None, cap=COUNT_CAP):
    """Return how many of ``feed``'s records a prune keeping ``days`` days would remove now:
    one count, through the time column's index, stopping at ``cap + 1`` (None: exact)."""
    model = feed.model
    query = model.select(peewee.SQL("1")).where(prunable(feed, cut_off_of(days, now)))
    if cap is not None:
        query = query.limit(cap + 1)
    return model.select(peewee.fn.COUNT(peewee.SQL("*"))).from_(query.alias("old")).scalar()


def prune_tab(tab, days, now=None, batch=None, pause=None):
    """Remove ``tab``'s records older than ``days`` days and the rows that go with them, in
    batches of ``batch`` (``RETENTION_BATCH_ROWS``), each committed on its own and followed by
    a wait of ``pause`` seconds (``RETENTION_PAUSE_MS``); record what was removed as one event
    (also when a batch fails after others were removed). Returns the ``Outcome``. Call it
    outside any transaction, or nothing is committed between batches."""
    if database.in_transaction():
        raise RuntimeError("prune_tab commits batch by batch: call it outside a transaction")
    feed = tab.feed
    cut_off = cut_off_of(days, now)
    old = prunable(feed, cut_off)
    size = batch or batch_rows()
    pause = pause_seconds() if pause is None else pause
    removed = 0
    seal_model(feed.model)  # what goes was sealed first, and leaves a note (core.evidence)
    try:
        while True:
            ids = _oldest(feed, old, size)
            if not ids:
                break
            done = _remove(feed, old, ids)
            removed += done
            # Nothing removed: another prune took them; fewer than a batch: none left.
            if not done or len(ids) < size:
                break
            # On SQLite a batch holds every writer back while it runs: between two, the
            # writers have the database to themselves for a while (PostgreSQL: the cores).
            time.sleep(pause)
    finally:
        if removed:
            record_prune(tab, days, cut_off, removed)
    return Outcome(tab, days, cut_off, removed)


def _oldest(feed, old, size):
    """Return the ids of up to ``size`` of ``feed``'s records to remove, oldest time first.

    Read outside a transaction: on SQLite a write transaction holds every writer back, so
    only the removal runs in one. Through the time column's index, however few are left;
    walking the ids instead would scan the whole table to find the last late-dated record.
    """
    prune = prune_of(feed)
    query = feed.model.select(feed.model.id).where(old).order_by(prune.time).limit(size)
    return [row_id for (row_id,) in query.tuples()]


def _remove(feed, old, ids):
    """Remove those of the records ``ids`` still to go, with their dependent rows, in one
    transaction; return how many were removed. The records are checked (and locked, on
    PostgreSQL) again first: one changed since it was read stays, with its dependants."""
    model, prune = feed.model, prune_of(feed)
    with database.atomic():
        query = model.select(model.id).where(model.id.in_(ids) & old).order_by(model.id)
        doomed = [row_id for (row_id,) in for_update(query).tuples()]
        if doomed:
            # A sealed record goes with a note of its removal, so verification tells this
            # prune from a deletion behind the app's back.
            note_pruned(model, doomed)
            with guard.permit():  # the record tables refuse any other deletion
                if prune.dependants is not None:
                    prune.dependants(doomed)
                model.delete().where(model.id.in_(doomed)).execute()
    return len(doomed)


def record_prune(tab, days, cut_off, removed):
    """Record that the system removed ``removed`` of ``tab``'s records older than ``cut_off``
    (``tab.pruned``, one event per tab and prune)."""
    noun = tab.feed.noun if removed == 1 else f"{tab.feed.noun}s"
    when = cut_off.isoformat(sep=" ", timespec="seconds")
    record_activity(
        None,
        "tab.pruned",
        Ref("tab", tab.name, tab.label),
        changes={
            "records kept": [None, describe_days(days)],
            "cut-off": [None, f"{when} UTC"],
            "rows": [None, removed],
        },
        summary=f"{removed:,} {noun} older than {when} UTC removed",
    )


def prune_all(now=None, dry_run=False):
    """Prune every list tab that keeps its records for some days; return an ``Outcome`` per
    tab (``dry_run``: count what would go, exactly, and remove nothing), or None when another
    prune of this database is running (it goes on; this one does nothing)."""
    from core.tabs import all_tabs

    with prune_lock() as held:
        if not held and not dry_run:
            return None
        chosen = policies()
        outcomes = []
        for tab in all_tabs():
            if tab.feed is None or tab.name not in chosen or prune_of(tab.feed) is None:
                continue
            days = kept_days(chosen[tab.name])
            if dry_run:
                count = count_prunable(tab.feed, days, now, cap=None)
                outcomes.append(Outcome(tab, days, cut_off_of(days, now), count))
            else:
                outcomes.append(prune_tab(tab, days, now))
        return outcomes


@contextmanager
def prune_lock():
    """Yield True holding the database's prune lock, or False at once when another process
    or thread holds it. A backlog's prune can outlast the hour: the next run must not start a
    second one beside it (each would hold a worker of the task queue). The lock goes with its
    process: PostgreSQL, a session advisory lock on this thread's connection; SQLite, ``flock``
    on ``<database file>-prune``."""
    if is_sqlite():
        if database.obj.database == ":memory:":
            yield True  # a private database: no other process can reach it
            return
        descriptor = os.open(f"{database.obj.database}-prune", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # closing it releases the lock
        return
    database.connect(reuse_if_open=True)
    held = database.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", PRUNE_LOCK_KEY)
    held = held.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            database.execute_sql("SELECT pg_advisory_unlock(%s, %s)", PRUNE_LOCK_KEY)


# The event store's dependants: the Activity tab's ``Prune``.


def delete_audience(ids):
    """Delete the audience rows of the events ``ids`` (the Activity tab's dependants).

    The audience is keyed by (party, event) alone, so "the rows of these events" is one range
    per party: the parties are read first, each with one index step (a loose index scan),
    then each run of nearby ids is deleted as one range per party, keeping only ``ids``.
    """
    parties = distinct_values(ActivityAudience, "party")
    audience = ActivityAudience
    for run in _runs(sorted(ids)):
        for start in range(0, len(parties), PARTY_CHUNK):
            audience.delete().where(
                audience.party.in_(parties[start : start + PARTY_CHUNK])
                & audience.event.between(run[0], run[-1])
                & audience.event.in_(run)
            ).execute()


def _runs(ids):
    """Split sorted ``ids`` where two neighbours are more than ``RUN_GAP`` apart."""
    runs = []
    for row_id in ids:
        if runs and row_id - runs[-1][-1] <= RUN_GAP:
            runs[-1].append(row_id)
        else:
            runs.append([row_id])
    return runs


def register(huey, app):
    """Register the hourly ``retention.prune`` on ``huey`` (in an app context)."""
    from huey import crontab

    @huey.periodic_task(crontab(minute="0"), name="retention.prune")
    def prune_task():
        with app.app_context():
            outcomes = prune_all()
            if outcomes is None:
                log.info("retention.prune: another prune is still running; left to it")
                return
            for outcome in outcomes:
                if outcome.removed:
                    log.info("pruned %s: %s records", outcome.tab.name, outcome.removed)

    app.extensions["retention.tasks"] = {"prune": prune_task}
