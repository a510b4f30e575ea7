"""Large exports: prepared by the task queue, kept in the database, downloaded by a link that
expires.

An export listing more than ``EXPORT_BACKGROUND_ROWS`` rows (100,000 by default) is not
streamed to the browser, which may wait minutes on one response and lose it all to a dropped
connection. The Export link answers a page offering to prepare it; the person's POST creates an
``ExportJob`` and enqueues ``export.run``. The job writes the file in chunks
(``ExportChunk``, one compressed chunk per keyset batch) with its progress, which the job's page
polls. When it is done, ``/stream/<tab>/exports/<id>/file`` streams the chunks back for
``EXPORT_LINK_HOURS`` (24 by default); then the sweep deletes them and the link answers 410.

Why the database holds the file: web hosts are stateless and may be several, and the worker
that writes the file is not the host that serves the link. The database is the one store every
host and worker already shares, and a chunk costs one insert in the job's own transaction.

Only the person who asked may see the job or download its file, and only while the tab is still
theirs (the stream gate checks it on every request): an admin cannot read another's file.

A consumer killed mid-export loses the running task; the job keeps a heartbeat, and the
periodic sweep enqueues again a job queued or running without progress for
``STALE_SECONDS``. A run claims its job with one conditional update, so two workers never
write the same job; a new run starts the file over.
"""

import hashlib
import logging
import secrets
import zlib
from datetime import timedelta
from urllib.parse import parse_qsl
from urllib.parse import urlencode

import peewee
from flask import current_app
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.listing.export import batch_rows
from core.listing.export import file_name
from core.listing.export import keyset_batches
from core.listing.export import record_export
from core.listing.export import writer_of

log = logging.getLogger(__name__)

CHANGED = "Your access to the tab changed since this export was asked for: export again."
CHUNKS_PER_QUERY = 16  # compressed chunks a download reads at a time (some 30 KB each)
STALE_SECONDS = 120  # a job without progress this long is run again by the sweep


class ExportJob(BaseModel):
    """One export prepared in the background for ``user_id``: the tab, format and filters
    (``args``, the filter part of the query string) it was asked with, and its progress."""

    user_id = peewee.IntegerField(index=True)
    tab = peewee.CharField(max_length=40)
    fmt = peewee.CharField(max_length=8)
    args = peewee.TextField()
    access = peewee.CharField(max_length=64)  # ``access_of`` the asker when asked
    state = peewee.CharField(max_length=10, default="queued")
    run = peewee.CharField(max_length=16, null=True)  # the run holding the job (``_claim``)
    rows_total = peewee.IntegerField(null=True)  # counted when the run starts
    rows_done = peewee.IntegerField(default=0)
    size = peewee.BigIntegerField(default=0)  # bytes of the file, uncompressed
    file_name = peewee.CharField(max_length=120)
    error = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    heartbeat_at = peewee.DateTimeField(default=utcnow)
    finished_at = peewee.DateTimeField(null=True)
    expires_at = peewee.DateTimeField(null=True)  # set when done

    class Meta:
        table_name = "export_job"

    def filter_args(self):
        """Return the filters the export was asked with, as the query string's ``MultiDict``."""
        return MultiDict(parse_qsl(self.args, keep_blank_values=False))

    def expired(self, now=None):
        """Tell whether the file is gone or past its link's time."""
        now = now or utcnow()
        return self.state == "expired" or (self.expires_at is not None and self.expires_at <= now)

    def percent(self):
        """Return the progress as a whole percentage (0 until the rows are counted)."""
        if self.state == "done":
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class ExportChunk(BaseModel):
    """One part of a job's file, in order (``seq`` from 0), compressed with zlib."""

    job_id = peewee.IntegerField()
    seq = peewee.IntegerField()
    data = peewee.BlobField()

    class Meta:
        table_name = "export_chunk"
        primary_key = peewee.CompositeKey("job_id", "seq")


MODELS = [ExportJob, ExportChunk]


def background_rows():
    """Return the row count above which an export is prepared in the background."""
    return current_app.config["EXPORT_BACKGROUND_ROWS"]


def link_hours():
    """Return the hours a prepared export's link stays valid."""
    return current_app.config["EXPORT_LINK_HOURS"]


def access_of(viewer, tab_name):
    """Return a fingerprint of what decides which of ``tab_name``'s rows ``viewer`` may see and
    how they read: their role, their row scope of the tab and their teams. A file prepared
    under another is not theirs to download: it may hold rows they may no longer see."""
    from core.tabs import row_scope

    teams = ",".join(str(team) for team in sorted(viewer.team_ids()))
    text = f"{viewer.role_id}|{row_scope(viewer, tab_name)}|{teams}"
    return hashlib.sha256(text.encode()).hexdigest()


def is_large(feed, viewer, filters):
    """Tell whether the export of ``feed`` under ``filters`` lists more rows than the
    background threshold (a count capped just above it, through the tab's ``records``)."""
    limit = background_rows()
    return feed.total(viewer, filters, cap=limit) > limit


def create_job(feed, viewer, filter_pairs, fmt):
    """Create the job of exporting ``feed`` for ``viewer`` under the filter ``filter_pairs``
    (already checked) as ``fmt``, and enqueue its run; return the job."""
    job = ExportJob.create(
        user_id=viewer.id,
        tab=feed.name,
        fmt=fmt,
        args=urlencode(filter_pairs),
        access=access_of(viewer, feed.name),
        file_name=file_name(feed, fmt),
    )
    enqueue(job.id)
    return job


def enqueue(job_id):
    """Hand the job to the queue; a failure is left to the sweep, which finds it stale."""
    try:
        current_app.extensions["export.tasks"]["run"](job_id)
    except Exception:
        log.exception("could not enqueue export %s; the sweep will", job_id)


def job_of(viewer, tab, job_id):
    """Return ``viewer``'s job ``job_id`` of ``tab``, or None (another's job is None too)."""
    return ExportJob.get_or_none(
        (ExportJob.id == job_id) & (ExportJob.user_id == viewer.id) & (ExportJob.tab == tab)
    )


def run(job_id):
    """Write the file of job ``job_id`` if no other run holds it: count the rows, then write
    each keyset batch as one chunk with the progress, in one transaction each. A viewer who
    has lost the tab, or filters refused now, fail the job. Runs in an app context."""
    from core.people import User
    from core.tabs import get_tab
    from core.tabs import visible_tabs

    mine = _claim(job_id)
    if mine is None:
        return
    job = ExportJob.get_by_id(job_id)
    held = (ExportJob.id == job.id) & (ExportJob.run == mine)
    viewer = User.get_or_none(User.id == job.user_id)
    tab = get_tab(job.tab)
    if viewer is None or not viewer.is_active or tab not in visible_tabs(viewer):
        _fail(job, held, "The tab is no longer yours.")
        return
    if access_of(viewer, job.tab) != job.access:
        _fail(job, held, CHANGED)
        return
    feed = tab.feed
    try:
        filters = feed.filters_of(job.filter_args(), viewer)
    except HTTPException as refusal:
        _fail(job, held, refusal.description)
        return
    total = feed.total(viewer, filters, cap=2**62)
    with database.atomic():  # a run starts the file over
        ExportChunk.delete().where(ExportChunk.job_id == job.id).execute()
        ExportJob.update(rows_total=total, rows_done=0, size=0).where(held).execute()
    done = [0]

    def rows_data():
        for rows in keyset_batches(feed, viewer, filters, batch_rows()):
            data = feed.records_data(viewer, rows)
            done[0] += len(data)
            yield data

    size = 0
    try:
        for seq, chunk in enumerate(writer_of(feed, viewer, job.fmt).chunks(rows_data())):
            size += len(chunk)
            if not write_chunk(job.id, mine, seq, chunk, done[0], size):
                return  # a later run took the job over (this one was thought lost)
    except Exception as error:
        log.exception("export %s failed", job.id)
        _fail(
            job, held, f"The export failed: {type(error).__name__}.", feed, viewer, filters, done[0]
        )
        return
    now = utcnow()
    with database.atomic():
        finished = ExportJob.update(
            state="done",
            rows_done=done[0],
            size=size,
            finished_at=now,
            expires_at=now + timedelta(hours=link_hours()),
        ).where(held)
        if finished.execute():
            record_export(feed, viewer, filters, job.fmt, done[0])


def write_chunk(job_id, run_token, seq, chunk, rows_done, size):
    """Store part ``seq`` of the file with the progress, if the run ``run_token`` still holds
    the job; return False when another run has taken it over (nothing is written)."""
    with database.atomic():
        progress = ExportJob.update(rows_done=rows_done, size=size, heartbeat_at=utcnow())
        if not progress.where((ExportJob.id == job_id) & (ExportJob.run == run_token)).execute():
            return False
        ExportChunk.create(job_id=job_id, seq=seq, data=zlib.compress(chunk, 6))
    return True


def _claim(job_id):
    """Take the job for a new run and return the run's token (None when it is not to run):
    queued, or running without progress for ``STALE_SECONDS`` (its run was lost). One
    conditional update, so only one run gets it; every later write of the run checks it."""
    stale = utcnow() - timedelta(seconds=STALE_SECONDS)
    mine = secrets.token_hex(8)
    claimed = (
        ExportJob.update(state="running", run=mine, heartbeat_at=utcnow())
        .where(
            (ExportJob.id == job_id)
            & (
                (ExportJob.state == "queued")
                | ((ExportJob.state == "running") & (ExportJob.heartbeat_at < stale))
            )
        )
        .execute()
    )
    return mine if claimed == 1 else None


def _fail(job, held, message, feed=None, viewer=None, filters=None, rows=0):
    """Mark ``job`` failed with ``message`` and drop its chunks, if this run (``held``) still
    holds it; a run that had begun writing is recorded as a failed export."""
    with database.atomic():
        failed = ExportJob.update(state="failed", error=message, finished_at=utcnow())
        if not failed.where(held).execute():
            return
        ExportChunk.delete().where(ExportChunk.job_id == job.id).execute()
        if feed is not None:
            record_export(feed, viewer, filters, job.fmt, rows, "failed")


def chunks_of(job, per_query=CHUNKS_PER_QUERY):
    """Yield the job's file, chunk by chunk, decompressed: ``per_query`` compressed chunks
    read at a time, by keyset on their order (bounded memory, a query per few chunks)."""
    after = -1
    while True:
        rows = list(
            ExportChunk.select(ExportChunk.seq, ExportChunk.data)
            .where((ExportChunk.job_id == job.id) & (ExportChunk.seq > after))
            .order_by(ExportChunk.seq)
            .limit(per_query)
            .tuples()
        )
        for _, data in rows:
            yield zlib.decompress(data)
        if len(rows) < per_query:
            return
        after = rows[-1][0]


def sweep(now=None):
    """Expire the files past their link's time (their chunks deleted) and return the ids of
    jobs to run again: queued or running without progress for ``STALE_SECONDS``."""
    now = now or utcnow()
    expired = [
        job_id
        for (job_id,) in ExportJob.select(ExportJob.id)
        .where((ExportJob.state == "done") & (ExportJob.expires_at <= now))
        .tuples()
    ]
    for job_id in expired:
        with database.atomic():
            ExportChunk.delete().where(ExportChunk.job_id == job_id).execute()
            ExportJob.update(state="expired").where(ExportJob.id == job_id).execute()
    stale = now - timedelta(seconds=STALE_SECONDS)
    return [
        job_id
        for (job_id,) in ExportJob.select(ExportJob.id)
        .where(ExportJob.state.in_(("queued", "running")) & (ExportJob.heartbeat_at < stale))
        .tuples()
    ]


def register(huey, app):
    """Register ``export.run`` and the minute's sweep on ``huey`` (each in an app context)."""
    from huey import crontab

    @huey.task(name="export.run")
    def run_task(job_id):
        with app.app_context():
            run(job_id)

    @huey.periodic_task(crontab(minute="*"), name="export.sweep")
    def sweep_task():
        with app.app_context():
            for job_id in sweep():
                run_task(job_id)

    app.extensions["export.tasks"] = {"run": run_task, "sweep": sweep_task}
