"""The sign-in log: every attempt through the sign-in form, and every end of a session, recorded
by core itself.

Signing in is core's own domain, so core records it, with a plain function called by the
sign-in view, not a hook a failing plugin could skip. The Logins tab plugin only reads this
table. Each attempt is written in a transaction of its own (``core.auth.views`` opens it), so it
stays recorded whatever the outcome of the attempt. Rows are append-only.

Besides the attempts, the same list holds what happened to sessions (signed out, expired,
revoked) and to locks (an account or an IP locked, unlocked), so the Logins tab reads one
table in id order.
"""

from dataclasses import dataclass

import peewee

from core.auth.clients import Client
from core.auth.clients import pair_of
from core.db import BaseModel
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.records import all_or_nothing
from core.records import allocate_ids
from core.records import clip
from core.records import insert_many

# Attempts through the form.
SIGNED_IN = "signed_in"
WRONG_PASSWORD = "wrong_password"
UNKNOWN_USER = "unknown_user"
LOCKED = "locked"  # refused by a lock or a full failure window: no password was checked
INACTIVE = "inactive"
NOT_ALLOWED = "not_allowed"  # the role may not sign in (a Lead)
INVALID_FORM = "invalid_form"
ATTEMPTS = (SIGNED_IN, WRONG_PASSWORD, UNKNOWN_USER, LOCKED, INACTIVE, NOT_ALLOWED, INVALID_FORM)
FAILURES = (WRONG_PASSWORD, UNKNOWN_USER, LOCKED, INACTIVE, NOT_ALLOWED, INVALID_FORM)
# Sessions ending.
SIGNED_OUT = "signed_out"
SESSION_EXPIRED = "session_expired"
SESSION_REVOKED = "session_revoked"
# Locks.
ACCOUNT_LOCKED = "account_locked"  # the name, for every browser it has never signed in from
IP_LOCKED = "ip_locked"
UNLOCKED = "unlocked"
CLIENT_LOCKED = "client_locked"  # the name, from one browser-and-IP pair that signed in before
LOCKS = (ACCOUNT_LOCKED, CLIENT_LOCKED, IP_LOCKED)
OUTCOMES = (
    *ATTEMPTS,
    SIGNED_OUT,
    SESSION_EXPIRED,
    SESSION_REVOKED,
    ACCOUNT_LOCKED,
    IP_LOCKED,
    UNLOCKED,
    CLIENT_LOCKED,
)

# Flags of a sign-in, one bit each.
NEW_BROWSER = 1
NEW_IP = 2
NEW_COUNTRY = 4
FLAG_NAMES = ((NEW_BROWSER, "new browser"), (NEW_IP, "new IP"), (NEW_COUNTRY, "new country"))


class SignInAttempt(BaseModel):
    """One attempt to sign in, or one session or lock event: when, the name as typed, whom it
    matched, how it ended, from where."""

    id = peewee.BigAutoField()
    attempted_at = peewee.DateTimeField(default=utcnow)  # microseconds kept
    name_typed = peewee.CharField(max_length=254)
    user_id = peewee.IntegerField(null=True)  # no foreign key: the user may be deleted later
    outcome = peewee.CharField(max_length=32)
    ip = peewee.CharField(max_length=45, null=True)
    country = peewee.CharField(max_length=16, default="")
    browser = peewee.CharField(max_length=64, default="")
    os = peewee.CharField(max_length=64, default="")
    device = peewee.CharField(max_length=64, default="")
    user_agent = peewee.CharField(max_length=300, null=True)
    failures_before = peewee.IntegerField(default=0)  # on a sign-in: failures since the last
    flags = peewee.SmallIntegerField(default=0)  # NEW_BROWSER | NEW_IP | NEW_COUNTRY
    session_id = peewee.BigIntegerField(null=True)
    detail = peewee.CharField(max_length=200, default="")

    class Meta:
        # One index per filter of the Logins tab, each read newest first without a sort.
        indexes = (
            (("user_id", "id"), False),
            (("outcome", "id"), False),
            (("ip", "id"), False),
            (("country", "id"), False),
            (("attempted_at",), False),
        )


class SeenClient(BaseModel):
    """A browser, IP, country or browser-and-IP pair a user has signed in from: what the
    "new …" flags look up, and what tells a known client from an unknown one (``core.auth.throttle``
    counts a known pair's failures on a key of its own)."""

    user_id = peewee.IntegerField()
    kind = peewee.CharField(max_length=1)  # b(rowser), i(p), c(ountry), p(air: clients.pair_of)
    value = peewee.CharField(max_length=64)
    first_seen = peewee.DateTimeField(default=utcnow)

    class Meta:
        primary_key = peewee.CompositeKey("user_id", "kind", "value")


MODELS = (SignInAttempt, SeenClient)
TABLE = SignInAttempt._meta.table_name
COLUMNS = [f.column_name for f in SignInAttempt._meta.sorted_fields if f.name != "id"]


@dataclass(frozen=True)
class Recorded:
    """What recording a row found out: its id, its flags, whether the user had signed in
    before (flags mean nothing on a first sign-in)."""

    id: int
    flags: int = 0
    known_user: bool = False


def neutralise(text, limit):
    """Return ``text`` with control characters shown as ``�`` and cut to ``limit``."""
    text = "".join("\ufffd" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text or "")
    return clip(text, limit)


def build_attempt(name_typed, user_id, outcome, client=None, at=None, **extra):
    """Return the row (a dict of columns) for one record; ``extra`` sets the other columns
    (``failures_before``, ``flags``, ``session_id``, ``detail``). Never takes a password."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    client = client or Client()
    row = {
        "attempted_at": at or utcnow(),
        "name_typed": neutralise(name_typed, 254),
        "user_id": user_id,
        "outcome": outcome,
        "ip": client.ip,
        "country": client.country,
        "browser": client.browser,
        "os": client.os,
        "device": client.device,
        "user_agent": client.user_agent,
        "failures_before": 0,
        "flags": 0,
        "session_id": None,
        "detail": "",
    }
    unknown = set(extra) - set(row)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a column of {TABLE}")
    row.update(extra)
    row["detail"] = neutralise(row["detail"], 200)
    return row


def record_sign_in_attempt(name_typed, user, outcome, client=None, at=None, **extra):
    """Record one attempt or session/lock event (never the password); return ``Recorded``.

    ``user`` is the account the name matched, or None; ``outcome`` one of ``OUTCOMES``;
    ``client`` a ``core.auth.clients.Client`` (the request's by default: pass it explicitly).
    A sign-in gets its "new browser / IP / country" flags here, from indexed lookups.
    Runs in the caller's transaction (a savepoint) or in one of its own.
    """
    row = build_attempt(name_typed, user.id if user else None, outcome, client, at, **extra)
    with all_or_nothing("sign_in_record"):
        cursor = database.cursor()
        known = False
        if outcome == SIGNED_IN and user is not None:
            row["flags"], known = _flags_and_remember(cursor, user.id, row)
        (attempt_id,) = allocate_ids(TABLE, 1, cursor)
        insert_many(cursor, TABLE, ["id", *COLUMNS], [(attempt_id, *(row[c] for c in COLUMNS))])
    return Recorded(attempt_id, row["flags"], known)


def record_sign_in_attempts(rows):
    """Record many rows made by ``build_attempt`` in one statement batch (the bulk path:
    demo history, benchmarks); flags are taken as given. Returns their ids, in order."""
    if not rows:
        return []
    with all_or_nothing("sign_in_bulk"):
        cursor = database.cursor()
        ids = allocate_ids(TABLE, len(rows), cursor)
        values = [(i, *(row[c] for c in COLUMNS)) for i, row in zip(ids, rows, strict=True)]
        insert_many(cursor, TABLE, ["id", *COLUMNS], values)
    return ids


def _flags_and_remember(cursor, user_id, row):
    """Return ``(flags, had signed in before)`` for a sign-in, and remember its browser, IP,
    country and browser-and-IP pair: one primary-key probe, one insert of four rows (those
    it did insert are the new ones). No scan of the log."""
    browser = clip(" / ".join(p for p in (row["browser"], row["os"], row["device"]) if p), 64)
    pair = pair_of(row["ip"], row["user_agent"])
    wanted = (("b", browser), ("i", row["ip"] or ""), ("c", row["country"]), ("p", pair))
    mark = "?" if is_sqlite() else "%s"
    table = SeenClient._meta.table_name
    cursor.execute(f"SELECT 1 FROM {table} WHERE user_id = {mark} LIMIT 1", (user_id,))
    known = cursor.fetchone() is not None
    values = ", ".join([f"({mark}, {mark}, {mark}, {mark})"] * len(wanted))
    params = [
        item for kind, value in wanted for item in (user_id, kind, value, row["attempted_at"])
    ]
    cursor.execute(
        f"INSERT INTO {table} (user_id, kind, value, first_seen) VALUES {values} "
        "ON CONFLICT DO NOTHING RETURNING kind",
        params,
    )
    added = {kind for (kind,) in cursor.fetchall()}
    flags = (
        sum(
            bit
            for kind, bit in (("b", NEW_BROWSER), ("i", NEW_IP), ("c", NEW_COUNTRY))
            if kind in added
        )
        if known
        else 0
    )
    return flags, known


def is_known_pair(user_id, pair):
    """Tell whether the user has signed in from the browser-and-IP pair ``pair`` before (one
    primary-key probe)."""
    if user_id is None:
        return False
    return (
        SeenClient.select(SeenClient.user_id)
        .where(
            (SeenClient.user_id == user_id) & (SeenClient.kind == "p") & (SeenClient.value == pair)
        )
        .exists()
    )


def remember_pairs_from_the_log():
    """Remember the browser-and-IP pair of every sign-in already in the log (a migration: a
    database upgraded from before pairs were kept knows its users' browsers at once)."""
    attempt = SignInAttempt
    query = (
        attempt.select(
            attempt.user_id,
            attempt.ip,
            attempt.user_agent,
            peewee.fn.MIN(attempt.attempted_at).alias("first"),
        )
        .where((attempt.outcome == SIGNED_IN) & attempt.user_id.is_null(False))
        .group_by(attempt.user_id, attempt.ip, attempt.user_agent)
        .tuples()
    )
    pairs = {}
    for user_id, ip, agent, first in query.iterator():
        key = (user_id, pair_of(ip, agent))
        pairs[key] = min(first, pairs.get(key, first))
    rows = [
        {"user_id": user_id, "kind": "p", "value": pair, "first_seen": first}
        for (user_id, pair), first in pairs.items()
    ]
    for start in range(0, len(rows), 500):
        SeenClient.insert_many(rows[start : start + 500]).on_conflict_ignore().execute()


def flag_labels(flags):
    """Return the names of the flags set in ``flags`` ("new browser", …)."""
    return [name for bit, name in FLAG_NAMES if flags & bit]
