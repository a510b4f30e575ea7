"""Verifications run by the task queue: a run row, its huey task, and the sweep of lost runs.

A whole verification reads every sealed record (minutes on ten million), longer than a
web request may last. "Verify integrity" creates a ``VerifyRun`` and enqueues
``integrity.verify``; the task claims the run (one conditional update, so two workers never
verify the same run), verifies with its progress written at most every ``PROGRESS_SECONDS``,
stores the report and records ``integrity.verified`` in one transaction. The section polls
the run until it is done.

A running run without progress for ``STALE_SECONDS`` (its consumer killed), or a queued one
no worker took in ``QUEUED_SECONDS`` (no consumer running), is *interrupted*: shown as such
at once, with the button offered again, and marked failed by the minute's sweep. It is not
run again by itself: the person who wanted it asks again. A run that comes back to life
after that finds its claim gone and stops, unrecorded.

Runs are shared by the owner and admins, as the section is: any of them sees the latest.
"""

import json
import logging
import secrets
import time
from datetime import timedelta

import peewee
from flask import current_app

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import SealBlock
from core.evidence.verify import verify

log = logging.getLogger(__name__)

STALE_SECONDS = 120  # a running run without progress this long is interrupted
# A queued run waits its turn behind other tasks (a long export on a one-thread consumer):
# it counts as lost only after this long untaken.
QUEUED_SECONDS = 1800
PROGRESS_SECONDS = 1.0  # a run writes its progress at most this often
LIVE = ("queued", "running")
INTERRUPTED = "Interrupted: no progress for 2 minutes."


class VerifyRun(BaseModel):
    """One verification asked by ``user_id`` with the ``heads`` kept elsewhere (one a line),
    its progress and, once done, its report (``report_data``' JSON)."""

    user_id = peewee.IntegerField()
    heads = peewee.TextField(default="")
    status = peewee.CharField(max_length=10, default="queued", index=True)
    records = peewee.BigIntegerField(default=0)  # checked so far
    blocks = peewee.BigIntegerField(default=0)
    records_total = peewee.BigIntegerField(null=True)  # the chains' sealed counts, an estimate
    report = peewee.TextField(null=True)
    error = peewee.TextField(null=True)
    claim = peewee.CharField(max_length=16, null=True)  # the run holding it (``claim``)
    created_at = peewee.DateTimeField(default=utcnow)
    started_at = peewee.DateTimeField(null=True)
    updated_at = peewee.DateTimeField(default=utcnow)  # the heartbeat
    finished_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "integrity_verify_run"

    def head_lines(self):
        """Return the heads given, as a list."""
        return self.heads.split()

    def is_live(self, now=None):
        """Tell whether the run is queued or running and not lost (``is_interrupted``)."""
        return self.status in LIVE and not self.is_interrupted(now)

    def is_interrupted(self, now=None):
        """Tell whether the run was lost: running without progress for ``STALE_SECONDS``, or
        queued untaken for ``QUEUED_SECONDS`` (swept or not)."""
        if self.status == "failed":
            return self.error == INTERRUPTED
        seconds = QUEUED_SECONDS if self.status == "queued" else STALE_SECONDS
        stale = (now or utcnow()) - timedelta(seconds=seconds)
        return self.status in LIVE and self.updated_at < stale

    def report_data(self):
        """Return the stored report (``ok``, ``records``, ``blocks``, ``pruned``, ``findings``
        as text lines, ``heads``), or None before it is done."""
        return json.loads(self.report) if self.report else None

    def percent(self):
        """Return the progress as a whole percentage of the estimate (None without one)."""
        if not self.records_total:
            return None
        return min(99, self.records * 100 // self.records_total)


MODELS = [VerifyRun]


def report_json(report):
    """Return a ``core.evidence.verify.Report`` as the JSON a run stores."""
    data = {
        "ok": report.ok,
        "records": report.records,
        "blocks": report.blocks,
        "pruned": report.pruned,
        "findings": [finding.text() for finding in report.findings],
        "heads": report.heads,
    }
    return json.dumps(data, ensure_ascii=False)


def latest():
    """Return the newest run, or None."""
    return VerifyRun.select().order_by(VerifyRun.id.desc()).first()


def live_run():
    """Return the newest run still queued or running with recent progress, or None."""
    query = VerifyRun.select().where(VerifyRun.status.in_(LIVE) & ~lost_runs(utcnow()))
    return query.order_by(VerifyRun.id.desc()).first()


def lost_runs(now):
    """Return the condition "this run is lost": running without progress for
    ``STALE_SECONDS``, or queued untaken for ``QUEUED_SECONDS``."""
    running = (VerifyRun.status == "running") & (
        VerifyRun.updated_at < now - timedelta(seconds=STALE_SECONDS)
    )
    queued = (VerifyRun.status == "queued") & (
        VerifyRun.updated_at < now - timedelta(seconds=QUEUED_SECONDS)
    )
    return running | queued


def sealed_estimate():
    """Return the records the chains sealed (their blocks' counts): what a run will check,
    less what retention removed and plus nothing unsealed."""
    return SealBlock.select(peewee.fn.SUM(SealBlock.count)).scalar() or 0


def start(viewer, heads):
    """Start a verification for ``viewer`` with ``heads`` kept elsewhere; return ``(run,
    started)``. While a run is live it is returned instead (``started`` False): one
    verification of the whole store at a time is enough."""
    running = live_run()
    if running is not None:
        return running, False
    run = VerifyRun.create(
        user_id=viewer.id, heads="\n".join(heads), records_total=sealed_estimate()
    )
    enqueue(run.id)
    return VerifyRun.get_by_id(run.id), True  # done already under HUEY_IMMEDIATE


def enqueue(run_id):
    """Hand the run to the queue; if that fails the run goes stale and shows interrupted."""
    try:
        current_app.extensions["integrity.tasks"]["verify"](run_id)
    except Exception:
        log.exception("could not enqueue verification %s", run_id)


def claim(run_id):
    """Take a queued run with recent progress for this worker; return the claim's token, or
    None when it is not to run (another worker has it, it is done, or it was interrupted)."""
    stale = utcnow() - timedelta(seconds=QUEUED_SECONDS)
    token = secrets.token_hex(8)
    now = utcnow()
    claimed = (
        VerifyRun.update(status="running", claim=token, started_at=now, updated_at=now)
        .where(
            (VerifyRun.id == run_id)
            & (VerifyRun.status == "queued")
            & (VerifyRun.updated_at >= stale)
        )
        .execute()
    )
    return token if claimed == 1 else None


class Lost(Exception):
    """The run's claim is gone (swept as interrupted): stop without recording."""


class Progress:
    """The ``progress`` callback of ``verify`` for one claimed run: writes the records and
    blocks checked at most every ``every`` seconds; raises ``Lost`` when the claim is gone."""

    def __init__(self, held, every=None, clock=time.monotonic):
        self.held = held
        self.every = PROGRESS_SECONDS if every is None else every
        self.clock = clock
        self.last = clock()

    def __call__(self, records, blocks):
        """Write the progress if ``every`` seconds passed since the last write."""
        now = self.clock()
        if now - self.last < self.every:
            return
        self.last = now
        if not write_progress(self.held, records, blocks):
            raise Lost


def write_progress(held, records, blocks):
    """Write the progress of the run ``held`` selects; return False when it is no longer
    held (nothing written)."""
    update = VerifyRun.update(records=records, blocks=blocks, updated_at=utcnow())
    return update.where(held).execute() == 1


def run(run_id):
    """Verify run ``run_id`` if this worker claims it; store its report and record
    ``integrity.verified`` as its asker, in one transaction. Runs in an app context."""
    from core.people import User

    token = claim(run_id)
    if token is None:
        return
    held = (VerifyRun.id == run_id) & (VerifyRun.claim == token) & (VerifyRun.status == "running")
    job = VerifyRun.get_by_id(run_id)
    asker = User.get_or_none(User.id == job.user_id)
    if asker is None or not asker.is_active or not asker.is_admin:
        fail(held, "The person who asked may no longer verify.")
        return
    try:
        report = verify(job.head_lines(), progress=Progress(held))
    except Lost:
        return
    except Exception as error:
        log.exception("verification %s failed", run_id)
        fail(held, f"The verification failed: {type(error).__name__}.")
        return
    finish(held, asker, report)


def finish(held, asker, report):
    """Store ``report`` on the run ``held`` selects and record the verification, if the run
    is still held (a run swept as interrupted meanwhile records nothing)."""
    now = utcnow()
    done = VerifyRun.update(
        status="done",
        records=report.records,
        blocks=report.blocks,
        report=report_json(report),
        updated_at=now,
        finished_at=now,
    )
    with database.atomic():
        if done.where(held).execute():
            record_verified(asker, report)


def record_verified(asker, report):
    """Record that ``asker`` verified the record, with the outcome and first findings."""
    outcome = "intact" if report.ok else "tampering found"
    changes = {
        "outcome": [None, outcome],
        "records": [None, report.records],
        "findings": [None, [finding.text() for finding in report.findings][:10]],
    }
    record_activity(
        asker,
        "integrity.verified",
        Ref("integrity", "stream", "the record's integrity"),
        changes=changes,
        summary=f"{report.records:,} records checked: {outcome}",
    )


def fail(held, message):
    """Mark the run ``held`` selects failed with ``message``."""
    now = utcnow()
    VerifyRun.update(status="failed", error=message, updated_at=now, finished_at=now).where(
        held
    ).execute()


def sweep(now=None):
    """Mark failed (interrupted) every lost run (``lost_runs``); return how many."""
    now = now or utcnow()
    return (
        VerifyRun.update(status="failed", error=INTERRUPTED, finished_at=now)
        .where(lost_runs(now))
        .execute()
    )


def register(huey, app):
    """Register ``integrity.verify`` and the minute's sweep on ``huey`` (in an app context)."""
    from huey import crontab

    @huey.task(name="integrity.verify")
    def verify_task(run_id):
        with app.app_context():
            run(run_id)

    @huey.periodic_task(crontab(minute="*"), name="integrity.sweep")
    def sweep_task():
        with app.app_context():
            swept = sweep()
            if swept:
                log.info("%s interrupted verification(s) marked failed", swept)

    app.extensions["integrity.tasks"] = {"verify": verify_task, "sweep": sweep_task}
