"""``Idempotency-Key``: a retried request answers what the first one answered, once.

A key belongs to the token's person. Its row is claimed (inserted) inside the transaction that
records the events, and holds the answer when that transaction commits, so key and events
commit together or not at all: a request that failed leaves no key, and its retry records.

Concurrent requests with one key: the first claims the row; on PostgreSQL the others' inserts
wait on the unique index until it commits, then find its answer and replay it (on SQLite
writers are serialised, so they find it at once). One waiting longer than
``API_IDEMPOTENCY_WAIT`` seconds gets a 409 "still in progress" and may retry.

Only an answer that recorded something (201) is kept: a refused request recorded nothing, so
sending it again, fixed, under the same key is allowed. Keys expire after
``API_IDEMPOTENCY_HOURS`` (24): an expired row is taken over by the next request with its key,
and ``prune`` deletes expired rows (run after a request at most every ``PRUNE_EVERY`` seconds
per process, in batches, off the request's transaction).
"""

import hashlib
import threading
import time
from datetime import timedelta

import peewee

from core.db import BaseModel
from core.db import database
from core.db import is_sqlite
from core.db import utcnow

KEY_LIMIT = 255
PRUNE_EVERY = 600  # seconds
PRUNE_BATCH = 5000


class IdempotencyKey(BaseModel):
    """One key of one person, and the answer of the request that claimed it."""

    id = peewee.BigAutoField()
    user_id = peewee.IntegerField()
    key = peewee.CharField(max_length=KEY_LIMIT)
    digest = peewee.CharField(max_length=64)  # of the request (method, path, body)
    status = peewee.IntegerField(null=True)  # None while its transaction is under way
    body = peewee.TextField(null=True)
    created_at = peewee.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "api_idempotency_key"
        indexes = ((("user_id", "key"), True),)


TABLE = IdempotencyKey._meta.table_name


class InProgress(Exception):
    """Another request with this key has not finished within the wait allowed."""


def digest_of(method, path, body):
    """Return the digest telling two requests apart: method, path and the body's bytes."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def lookup(user_id, key, ttl):
    """Return the finished, unexpired row of ``key`` for ``user_id``, or None (read only:
    lets a retry be answered without checking its events or taking the write lock)."""
    return (
        IdempotencyKey.select()
        .where(
            (IdempotencyKey.user_id == user_id)
            & (IdempotencyKey.key == key)
            & IdempotencyKey.status.is_null(False)
            & (IdempotencyKey.created_at >= utcnow() - ttl)
        )
        .first()
    )


def claim(user_id, key, digest, ttl, wait):
    """Claim ``key`` inside the caller's write transaction. Returns None when this request
    owns it (then ``finish`` it in the same transaction), else the row that another request
    finished first. Raises ``InProgress`` after waiting ``wait`` seconds for another."""
    p = database.param
    cursor = database.cursor()
    if not is_sqlite():
        # Only this transaction waits that long; the default elsewhere is no limit.
        cursor.execute(f"SET LOCAL lock_timeout = '{int(wait * 1000)}ms'")
    now = utcnow()
    try:
        cursor.execute(
            f'INSERT INTO {TABLE} (user_id, "key", digest, created_at)'
            f" VALUES ({p}, {p}, {p}, {p})"
            ' ON CONFLICT (user_id, "key") DO NOTHING RETURNING id',
            (user_id, key, digest, now),
        )
        if cursor.fetchone() is not None:
            return None
        # Taken: by a finished request (answer it), or an expired one (take it over).
        cursor.execute(
            f"UPDATE {TABLE} SET digest = {p}, status = NULL, body = NULL, created_at = {p}"
            f' WHERE user_id = {p} AND "key" = {p} AND created_at < {p}',
            (digest, now, user_id, key, now - ttl),
        )
    except Exception as error:
        if _pgcode(error) == "55P03":  # lock_not_available: lock_timeout passed
            raise InProgress() from error
        raise
    if cursor.rowcount == 1:
        return None
    return IdempotencyKey.get((IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key))


def _pgcode(error):
    """Return PostgreSQL's error code of ``error`` (raised by the driver or wrapped by peewee)."""
    for candidate in (error, error.__cause__, error.__context__, *error.args[:1]):
        code = getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def finish(user_id, key, status, body):
    """Keep the answer of the request that claimed ``key``, in its transaction."""
    IdempotencyKey.update(status=status, body=body).where(
        (IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key)
    ).execute()


_pruned = {"at": 0.0}
_prune_lock = threading.Lock()


def prune_now_and_then(ttl):
    """Call ``prune`` if this process has not for ``PRUNE_EVERY`` seconds (one thread does)."""
    now = time.monotonic()
    if now - _pruned["at"] < PRUNE_EVERY or not _prune_lock.acquire(blocking=False):
        return
    try:
        _pruned["at"] = now
        prune(ttl)
    finally:
        _prune_lock.release()


def prune(ttl, batch=PRUNE_BATCH):
    """Delete the keys older than ``ttl``, ``batch`` rows per transaction; return how many."""
    deleted = 0
    while True:
        with database.atomic():
            oldest = (
                IdempotencyKey.select(IdempotencyKey.id)
                .where(IdempotencyKey.created_at < utcnow() - ttl)
                .limit(batch)
            )
            count = IdempotencyKey.delete().where(IdempotencyKey.id.in_(oldest)).execute()
        deleted += count
        if count < batch:
            return deleted


def ttl_of(config):
    """Return how long keys live, from ``API_IDEMPOTENCY_HOURS``."""
    return timedelta(hours=config["API_IDEMPOTENCY_HOURS"])
