"""A per-token request rate, counted in the database so every process and host shares it.
The gate counts every API request a token makes, once (``gate.authenticate``).

One row per token and minute holds the requests that minute. The rate is the sliding-window
estimate: this minute's count plus last minute's, weighted by the part of last minute still
inside the 60 s window (as Cloudflare counts), so a burst across a minute boundary cannot
reach twice the limit. A request costs one short write transaction: read last minute's count,
then one conditional upsert that counts it only while under the limit (atomic on both
databases: PostgreSQL locks the row, SQLite's ``BEGIN IMMEDIATE`` serialises writers). A
refused request is not counted, so a client that waits ``Retry-After`` gets in.

A token's rows older than last minute are deleted when its new minute's row is created.
"""

import math
import time

import peewee

from core.db import BaseModel
from core.db import database


class ApiRate(BaseModel):
    """Requests of one token in one minute (``minute``: seconds since the epoch // 60)."""

    token_id = peewee.IntegerField()
    minute = peewee.BigIntegerField()
    count = peewee.IntegerField(default=0)

    class Meta:
        table_name = "api_rate"
        primary_key = peewee.CompositeKey("token_id", "minute")


TABLE = ApiRate._meta.table_name


def take(token_id, limit, now=None):
    """Count one request of ``token_id`` if its rate is under ``limit`` per minute.

    Returns 0 when counted, else the seconds to wait (``Retry-After``, at least 1).
    """
    now = time.time() if now is None else now
    minute = int(now // 60)
    p = database.param
    with database.atomic():
        cursor = database.cursor()
        cursor.execute(
            f"SELECT minute, count FROM {TABLE} WHERE token_id = {p} AND minute >= {p}",
            (token_id, minute - 1),
        )
        counts = dict(cursor.fetchall())
        previous, current = counts.get(minute - 1, 0), counts.get(minute, 0)
        room = limit - math.floor(previous * (1 - (now / 60 - minute)))
        if room <= current:
            return _wait(now, previous, current, limit)
        cursor.execute(
            f"INSERT INTO {TABLE} (token_id, minute, count) VALUES ({p}, {p}, 1)"
            f" ON CONFLICT (token_id, minute) DO UPDATE SET count = {TABLE}.count + 1"
            f" WHERE {TABLE}.count < {p} RETURNING count",
            (token_id, minute, room),
        )
        counted = cursor.fetchone()
        if counted is None:  # others took the room since it was read
            return _wait(now, previous, room, limit)
        if counted[0] == 1:  # the token's first request this minute: drop its older rows
            cursor.execute(
                f"DELETE FROM {TABLE} WHERE token_id = {p} AND minute < {p}",
                (token_id, minute - 1),
            )
    return 0


def _wait(now, previous, current, limit):
    """Return the whole seconds until the estimate leaves room for one more request."""
    minute = int(now // 60)
    for seconds in range(1, 121):
        moment = now + seconds
        later = int(moment // 60) - minute
        # In the next minute this minute's count becomes the previous one; then neither counts.
        before, this = ((previous, current), (current, 0))[later] if later < 2 else (0, 0)
        if math.floor(before * (1 - (moment / 60 - int(moment // 60)))) + this < limit:
            return seconds
    return 120
