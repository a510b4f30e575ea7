"""Brute-force protection: failures per account name and per IP over a rolling window, with
progressive locks, kept in the database so every process and host sees the same state.

One row per key holds the times of the failures still in the window, the lock
(``locked_until``) and how many locks came before (the tier: each lock lasts longer). The
keys an attempt is counted on (its *gates*):

- ``account:<name as typed>`` for a browser that never signed in to that name: an unknown
  name locks exactly as a real one does, so a lock tells nothing about whether it exists;
- ``client:<pair>:<name>`` instead, for a browser-and-IP pair that has signed in to that
  account before (``core.auth.signins.is_known_pair``): the rightful user's own browser is
  counted on its own, never locked by failures from elsewhere (as Auth0's
  ``count_per_identifier_and_ip`` and django-axes' username + IP + agent lockouts do);
- ``ip:<address>``, unless the address is in ``LOCK_ALLOW`` (never locked by IP limits);
- an attempt through a mailed unlock link (``core.auth.unlocks``) has no name gate: the link
  counts its own password checks.

The sign-in view reads and changes these rows under the database's write lock (SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's ``SELECT … FOR UPDATE``), and *reserves* a failure on
each gate before it checks a password: with N failures allowed, at most N password checks
can be under way or done for a key in a window, however many requests arrive at once. A
success clears its name gate and gives the IP back this attempt's reservation only (a valid
account must not wipe an attacker's other failures from an IP, but an office behind one
address must not lock itself out by signing in). The account row also keeps how many
failures came since the last sign-in ("after k failures").
"""

import ipaddress
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
CLIENT = "client"
IP = "ip"


class SignInThrottle(BaseModel):
    """The brute-force state of one key: an account name, a name from one known browser-and-IP
    pair, or an IP."""

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
    keys: tuple = ()  # every row read: the gates and the account's row
    gates: tuple = ()  # the keys whose limits the attempt is counted on
    account: str = None  # the account's key: its row keeps the failures since a sign-in
    failures_before: int = 0  # the account's failures since its last sign-in
    blocked: tuple = ()  # kinds of the locks that refused the attempt, or that it caused
    locks: list = field(default_factory=list)  # [(kind, value, until, tier)] made by settle


def account_key(name):
    """Return the throttle key of an account name (as normalised by the form)."""
    return f"{ACCOUNT}:{name[:250]}" if name else None


def client_key(name, pair):
    """Return the throttle key of an account name tried from one known browser-and-IP pair
    (``core.auth.clients.pair_of``); 32 hex digits of the pair are plenty to tell pairs apart."""
    return f"{CLIENT}:{pair[:32]}:{name[:250]}" if name and pair else None


def ip_key(ip):
    """Return the throttle key of an IP, None when there is none."""
    return f"{IP}:{ip}" if ip else None


def kind_of(key):
    """Return the kind of a key: ``account``, ``client`` or ``ip``."""
    return key.split(":", 1)[0]


def ip_allowed(ip):
    """Tell whether ``ip`` is in a network of ``LOCK_ALLOW`` (never locked by IP limits)."""
    networks = current_app.config["LOCK_ALLOW"]
    if not ip or not networks:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None):  # ::ffff:10.1.2.3 is 10.1.2.3
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in networks)


def _settings():
    config = current_app.config
    return {
        ACCOUNT: config["LOCK_ACCOUNT_LIMIT"],
        CLIENT: config["LOCK_ACCOUNT_LIMIT"],
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


def reserve(name, ip, pair=None, by_link=False):
    """Check the attempt's limits before a password is checked; in the caller's transaction.

    ``pair``: the browser-and-IP pair, when it has signed in to this account before (its own
    key replaces the account's); ``by_link``: an attempt through an unlock link (no name
    gate). Returns a ``Verdict``: refused (locked, or a window is full), or a failure
    reserved for this attempt, to be settled by ``settle``.
    """
    settings = _settings()
    account = account_key(name)
    name_gate = None if by_link else (client_key(name, pair) if pair else account)
    ip_gate = None if ip_allowed(ip) else ip_key(ip)
    gates = tuple(key for key in (name_gate, ip_gate) if key)
    keys = tuple(sorted({key for key in (account, *gates) if key}))
    verdict = Verdict(keys=keys, gates=gates, account=account)
    if not keys:
        return verdict
    rows = _locked_rows(keys)
    now = utcnow()
    waits = {}
    for key, row in rows.items():
        _refresh(row, now, settings)
        if key not in gates:
            continue
        kind = kind_of(key)
        if row.locked_until and row.locked_until > now:
            waits[kind] = (row.locked_until - now).total_seconds()
        elif len(_times(row)) >= settings[kind]:
            waits[kind] = _times(row)[0] + settings["window"] - now.timestamp()
    counted = rows.get(account)
    verdict.failures_before = counted.since_success if counted else 0
    if waits:
        verdict.refused = True
        verdict.blocked = tuple(sorted(waits))
        verdict.retry_after = max(1, int(max(waits.values()) + 0.999))
        if counted:
            counted.since_success += 1
    else:
        verdict.reserved_at = now.timestamp()
        for key in gates:
            rows[key].failures = f"{rows[key].failures} {verdict.reserved_at:.6f}".strip()
    _save(rows, now)
    if secrets.randbelow(256) == 0:
        _prune(now, settings)
    return verdict


def settle(verdict, succeeded):
    """Settle a reserved attempt in the caller's transaction.

    A success clears its name gate and gives the IP back this attempt's reservation only; a
    failure stays counted, and a full window locks its key for the next tier's time. Fills
    ``verdict.locks``, ``verdict.blocked`` and ``verdict.retry_after``.
    """
    if not verdict.keys:
        return verdict
    settings = _settings()
    rows = _locked_rows(verdict.keys)
    now = utcnow()
    changed = {}
    for key in verdict.gates:
        row, kind = rows[key], kind_of(key)
        _refresh(row, now, settings)
        if succeeded and kind == IP:
            _give_back(row, verdict.reserved_at)
            changed[key] = row
        elif succeeded:
            row.failures, row.tier, row.locked_until = "", 0, None
            changed[key] = row
        elif len(_times(row)) >= settings[kind]:
            _lock(row, now, settings)
            changed[key] = row
            value = key.split(":", 2 if kind == CLIENT else 1)[-1]  # the name, or the IP
            verdict.locks.append((kind, value, row.locked_until, row.tier))
            verdict.blocked += (kind,)
            seconds = (row.locked_until - now).total_seconds()
            verdict.retry_after = max(verdict.retry_after, round(seconds))
        # else: the failure stays counted (``reserve`` wrote it).
    counted = rows.get(verdict.account)
    if counted is not None:
        counted.since_success = 0 if succeeded else counted.since_success + 1
        changed[verdict.account] = counted
    _save(changed, now)
    return verdict


def _give_back(row, reserved_at):
    """Take this attempt's reserved failure time out of ``row`` (if still in the window)."""
    times = row.failures.split()
    mine = f"{reserved_at:.6f}"
    if mine in times:
        times.remove(mine)
    row.failures = " ".join(times)


def _lock(row, now, settings):
    """Lock ``row`` for its tier's time, and move it to the next tier."""
    tiers = settings["tiers"]
    row.locked_until = now + timedelta(seconds=tiers[min(row.tier, len(tiers) - 1)])
    row.tier += 1
    row.failures = ""


def unlock(key):
    """Lift the lock of a throttle key and forget its failures; tell whether it was locked.
    In the caller's transaction."""
    if not SignInThrottle.select().where(SignInThrottle.key == key).exists():
        return False  # nothing counted for this key: no row to write either
    row = _locked_rows((key,))[key]
    now = utcnow()
    was_locked = bool(row.locked_until and row.locked_until > now)
    row.failures, row.tier, row.locked_until = "", 0, None
    _save({key: row}, now)
    return was_locked


def _prune(now, settings):
    """Delete rows idle for longer than any state they hold can matter."""
    longest = settings["window"] + max(settings["tiers"]) + settings["reset"]
    SignInThrottle.delete().where(
        SignInThrottle.updated_at < now - timedelta(seconds=longest)
    ).execute()
