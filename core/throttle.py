"""Brute-force protection: failures per account name and per IP over a rolling window, with
progressive locks, kept in the database so every process and host sees the same state.

One row per key (``account:<name as typed>``, ``ip:<address>``) holds the times of the
failures still in the window, the lock (``locked_until``) and how many locks came before
(the tier: each lock lasts longer). The sign-in view reads and changes these rows under the
database's write lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's ``SELECT … FOR UPDATE``),
and *reserves* a failure before it checks a password: with N failures allowed, at most N
password checks can be under way or done for a key in a window, however many requests
arrive at once. A success gives the account's reservation back; the IP keeps it (one valid
account must not reset an attacker's IP).

Accounts are keyed by the name typed, not the user: an unknown name locks exactly as a real
one does, so a lock tells nothing about whether an account exists.
"""

import secrets
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta

import peewee
from flask import current_app

from core.db import BaseModel
from core.db import database
from core.db import is_sqlite
from core.db import utcnow

ACCOUNT = "account"
IP = "ip"


class SignInThrottle(BaseModel):
    """The brute-force state of one account name or IP."""

    key = peewee.CharField(max_length=300, primary_key=True)
    failures = peewee.TextField(default="")  # epoch seconds of the window's failures, oldest first
    tier = peewee.IntegerField(default=0)  # locks so far; the next lasts LOCK_TIERS[tier]
    locked_until = peewee.DateTimeField(null=True)  # kept after it passes: the tier decays from it
    since_success = peewee.IntegerField(default=0)  # failures since the last sign-in
    updated_at = peewee.DateTimeField(default=utcnow, index=True)


MODELS = (SignInThrottle,)
TABLE = SignInThrottle._meta.table_name


@dataclass
class Verdict:
    """What the throttle decided for one attempt."""

    refused: bool = False
    retry_after: int = 0  # seconds
    reserved_at: float = None  # the failure time reserved for this attempt
    keys: tuple = ()
    failures_before: int = 0  # the account's failures since its last sign-in
    locks: list = field(default_factory=list)  # [(kind, value, until, tier)] made by settle


def account_key(name):
    """Return the throttle key of an account name (as normalised by the form)."""
    return f"{ACCOUNT}:{name[:250]}" if name else None


def ip_key(ip):
    """Return the throttle key of an IP, None when there is none."""
    return f"{IP}:{ip}" if ip else None


def _settings():
    config = current_app.config
    return {
        ACCOUNT: config["LOCK_ACCOUNT_LIMIT"],
        IP: config["LOCK_IP_LIMIT"],
        "window": config["LOCK_WINDOW"],
        "tiers": config["LOCK_TIERS"],
        "reset": config["LOCK_TIER_RESET"],
    }


@dataclass
class State:
    """One key's row, as read under the lock (``new``: no row yet)."""

    key: str
    failures: str = ""
    tier: int = 0
    locked_until: datetime = None
    since_success: int = 0
    new: bool = True


def _locked_rows(keys):
    """Return the ``State`` of ``keys``, locked until the transaction ends.

    Plain SQL (this runs twice per sign-in attempt; peewee's query building cost more than
    the statements). SQLite: the transaction already holds the write lock. PostgreSQL: a
    missing row is inserted first, so that ``FOR UPDATE`` has a row to lock and two first
    attempts for a key cannot both miss it.
    """
    sqlite = is_sqlite()
    mark = "?" if sqlite else "%s"
    if not sqlite:
        for key in keys:  # sorted: two transactions never wait on each other's second row
            database.execute_sql(
                f"INSERT INTO {TABLE} (key, failures, tier, since_success, updated_at) "
                f"VALUES (%s, '', 0, 0, %s) ON CONFLICT DO NOTHING",
                (key, utcnow()),
            )
    cursor = database.execute_sql(
        f"SELECT key, failures, tier, locked_until, since_success FROM {TABLE} "
        f"WHERE key IN ({', '.join([mark] * len(keys))}) ORDER BY key"
        + ("" if sqlite else " FOR UPDATE"),
        keys,
    )
    found = {}
    for key, failures, tier, until, since_success in cursor.fetchall():
        if isinstance(until, str):
            until = datetime.fromisoformat(until)
        found[key] = State(key, failures, tier, until, since_success, new=False)
    return {key: found.get(key) or State(key) for key in keys}


def _save(rows, now):
    """Write ``rows`` back (one upsert each)."""
    mark = "?" if is_sqlite() else "%s"
    for row in rows.values():
        database.execute_sql(
            f"INSERT INTO {TABLE} (key, failures, tier, locked_until, since_success, updated_at)"
            f" VALUES ({', '.join([mark] * 6)}) ON CONFLICT (key) DO UPDATE SET"
            " failures = excluded.failures, tier = excluded.tier,"
            " locked_until = excluded.locked_until, since_success = excluded.since_success,"
            " updated_at = excluded.updated_at",
            (
                row.key,
                row.failures,
                row.tier,
                _stored(row.locked_until),
                row.since_success,
                _stored(now),
            ),
        )


def _stored(value):
    # SQLite keeps times as text, in the format peewee reads back.
    return str(value) if value is not None and is_sqlite() else value


def _times(row):
    return [float(value) for value in row.failures.split()]


def _refresh(row, now, settings):
    """Drop failures that left the window; forget the tier once the last lock is long past."""
    horizon = now.timestamp() - settings["window"]
    row.failures = " ".join(f"{t:.6f}" for t in _times(row) if t > horizon)
    if (
        row.locked_until
        and row.tier
        and now - row.locked_until > timedelta(seconds=settings["reset"])
    ):
        row.tier = 0


def reserve(name, ip):
    """Check the account and IP limits before a password is checked; in the caller's
    transaction. Returns a ``Verdict``: refused (locked, or the window is full), or a
    failure reserved for this attempt, to be settled by ``settle``."""
    settings = _settings()
    keys = tuple(sorted(k for k in (account_key(name), ip_key(ip)) if k))
    rows = _locked_rows(keys)
    now = utcnow()
    verdict = Verdict(keys=keys)
    waits = []
    for key, row in rows.items():
        _refresh(row, now, settings)
        times = _times(row)
        if row.locked_until and row.locked_until > now:
            waits.append((row.locked_until - now).total_seconds())
        elif len(times) >= settings[key.split(":", 1)[0]]:
            waits.append(times[0] + settings["window"] - now.timestamp())
    account = rows.get(account_key(name))
    verdict.failures_before = account.since_success if account else 0
    if waits:
        verdict.refused = True
        verdict.retry_after = max(1, int(max(waits) + 0.999))
        if account:
            account.since_success += 1
    else:
        verdict.reserved_at = now.timestamp()
        for row in rows.values():
            row.failures = f"{row.failures} {verdict.reserved_at:.6f}".strip()
    _save(rows, now)
    if secrets.randbelow(256) == 0:
        _prune(now, settings)
    return verdict


def settle(verdict, succeeded):
    """Settle a reserved attempt in the caller's transaction: a success clears the account
    (and gives the IP nothing back); a failure stays counted, and a full window locks its
    key for the next tier's time. Fills ``verdict.locks`` and ``verdict.retry_after``."""
    settings = _settings()
    rows = _locked_rows(verdict.keys)
    now = utcnow()
    changed = {}
    for key, row in rows.items():
        kind, value = key.split(":", 1)
        _refresh(row, now, settings)
        # The account row always changes; the IP row only when it locks (a success gives an
        # IP nothing back, and its reservation was written by ``reserve``).
        if kind == ACCOUNT:
            changed[key] = row
        if succeeded:
            if kind == ACCOUNT:
                row.failures, row.tier, row.since_success, row.locked_until = "", 0, 0, None
        else:
            if kind == ACCOUNT:
                row.since_success += 1
            if len(_times(row)) >= settings[kind]:
                changed[key] = row
                tiers = settings["tiers"]
                seconds = tiers[min(row.tier, len(tiers) - 1)]
                row.locked_until = now + timedelta(seconds=seconds)
                row.tier += 1
                row.failures = ""
                verdict.locks.append((kind, value, row.locked_until, row.tier))
                verdict.retry_after = max(verdict.retry_after, seconds)
    _save(changed, now)
    return verdict


def unlock(kind, value):
    """Lift the lock of an account name or IP and forget its failures; tell whether it was
    locked. In the caller's transaction."""
    key = account_key(value) if kind == ACCOUNT else ip_key(value)
    row = _locked_rows((key,))[key]
    now = utcnow()
    was_locked = bool(row.locked_until and row.locked_until > now)
    row.failures, row.tier, row.locked_until = "", 0, None
    _save({key: row}, now)
    return was_locked


def locked_until(kind, value):
    """Return when the lock of an account name or IP ends, None when it is not locked."""
    key = account_key(value) if kind == ACCOUNT else ip_key(value)
    row = SignInThrottle.get_or_none(SignInThrottle.key == key)
    now = utcnow()
    return row.locked_until if row and row.locked_until and row.locked_until > now else None


def _prune(now, settings):
    """Delete rows idle for longer than any state they hold can matter."""
    longest = settings["window"] + max(settings["tiers"]) + settings["reset"]
    SignInThrottle.delete().where(
        SignInThrottle.updated_at < now - timedelta(seconds=longest)
    ).execute()
