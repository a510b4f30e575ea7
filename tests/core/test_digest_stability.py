"""A sealed record's digest never changes with the code that computes it (core.evidence.seal):
``digests`` gives, for each record, the digest of its documented definition, computed here
by a plain reference written from that definition and nothing else:

    HMAC-SHA256(key, json.dumps([[canonical(v) for v in values], belonging],
                                ensure_ascii=False, separators=(",", ":"), default=str))[:16]

``values``: the record's columns but the id, as peewee reads them, each personal column as
its keyed BLAKE2b hash (the hash of the value before a replacement through the app);
``belonging``: an event's sorted audience parties (None without any). Times with and without
microseconds, empty columns, non-ASCII text, JSON changes, an audience, replaced personal
values, keys shorter than, as long as and longer than SHA-256's block. SQLite and PostgreSQL.
"""

import hashlib
import hmac
import json
from datetime import date
from datetime import datetime

import pytest

from core.auth.signins import SignInAttempt
from core.db import clock_at
from core.db import database
from core.db import is_sqlite
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.events.recorder import Audience
from core.evidence.replace import replace_values
from core.evidence.seal import SealBlock
from core.evidence.seal import digests
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.evidence.seal import unpack
from core.evidence.verify import verify

KEYS = [b"s" * 32, b"sixty-four bytes: exactly SHA-256's block size, used as it is!!!", b"L" * 100]
WHOLE_SECOND = datetime(2026, 3, 1, 12, 30, 45)  # SQLite keeps it without a fraction
MICROSECONDS = datetime(2026, 3, 1, 12, 30, 46, 123456)
HALF_SECOND = datetime(2026, 3, 1, 12, 30, 47, 500000)


# The reference: the definition, spelled out, sharing no code with core.evidence.seal -------


def reference_canonical(value):
    """Return ``value`` as the digest reads it: times as ISO text with six digits of
    microseconds, dates as ISO text, bytes as hex, anything else as it is."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def reference_personal_hash(key, value):
    """Return the keyed hash a digest commits to for a personal value (None stays None)."""
    if value is None:
        return None
    personal_key = hashlib.sha256(b"personal|" + key).digest()
    text = str(reference_canonical(value)).encode("utf-8")
    return hashlib.blake2b(text, key=personal_key, digest_size=16).hexdigest()


def reference_digest(key, table, record_id, originals=None):
    """Return the digest of record ``record_id`` of ``table`` by its definition: read through
    peewee on its own; ``originals`` are ``{column: value}`` before a replacement."""
    model = table.model
    fields = model._meta.sorted_fields
    row = model.select(*fields).where(model.id == record_id).tuples().get()
    values = []
    for field, value in zip(fields[1:], row[1:], strict=True):
        if field.name in table.personal:
            value = (originals or {}).get(field.name, value)
            value = reference_personal_hash(key, value)
        values.append(reference_canonical(value))
    belonging = None
    if model is ActivityEvent:
        rows = ActivityAudience.select(ActivityAudience.party).where(
            ActivityAudience.event == record_id
        )
        belonging = sorted(party for (party,) in rows.tuples()) or None
    body = json.dumps([values, belonging], ensure_ascii=False, separators=(",", ":"), default=str)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).digest()[:16]


# The records --------------------------------------------------------------------------------


def table_of(kind):
    """Return the sealed table ``kind``."""
    return next(table for table in sealed_tables() if table.kind == kind)


def record_events(app, people):
    """Record three events at chosen times: by Dana in a request (address, user agent,
    non-ASCII text, JSON changes and metadata, a target, an audience), by the system (no
    actor, no target, no audience), and by Avery; return their ids."""
    dana, avery, fox = (
        people[email] for email in ("teammate@example.com", "admin@example.com", "fox@example.com")
    )
    headers = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Zoë/1.0"}
    environ = {"REMOTE_ADDR": "203.0.113.9"}
    request = app.test_request_context("/", headers=headers, environ_base=environ)
    with request, clock_at(WHOLE_SECOND):
        first = record_activity(
            dana,
            "task.updated",
            Ref("task", 7, "Tâche « café » — 東京 ✓"),
            changes={"title": ["Ébauche", "Réunion ✓"], "due": [None, "2026-03-02"]},
            target=Ref("project", 3, "Projet Ω"),
            audience=Audience(users={fox.id}, teams={1}),
            metadata={"clé": "valeur ü", "liste": [1, None, "日本"]},
        )
    with clock_at(MICROSECONDS):
        second = record_activity(None, "system.checked", Ref("system", 1, "Nightly check"))
    with clock_at(HALF_SECOND):
        third = record_activity(avery, "document.created", Ref("document", 9, "Plan"))
    return [first.id, second.id, third.id]


def record_sign_ins():
    """Record two sign-in attempts, one at a whole second, with non-ASCII and empty columns;
    return their ids."""
    one = SignInAttempt.create(
        attempted_at=WHOLE_SECOND, name_typed="zoë@exämple.com", outcome="failure", ip=None
    )
    two = SignInAttempt.create(
        attempted_at=MICROSECONDS,
        name_typed="dana@example.com",
        outcome="success",
        ip="198.51.100.4",
        user_agent="Navigateur ✓",
        user_id=4,
        session_id=None,
    )
    return [one.id, two.id]


def assert_digests_are_the_definitions(key, table, ids, originals=None):
    """``digests`` of the range of ``ids`` equals the reference of each record."""
    originals = originals or {}
    expected = [
        (record_id, reference_digest(key, table, record_id, originals.get(record_id)))
        for record_id in ids
    ]
    assert digests(key, table, ids[0], ids[-1]) == expected
    return expected


def sealed_pairs(kind):
    """Return the ``(id, digest)`` pairs of chain ``kind``'s blocks."""
    blocks = SealBlock.select().where(SealBlock.kind == kind).order_by(SealBlock.seq)
    return [pair for block in blocks for pair in unpack(block.pairs)]


@pytest.mark.parametrize("key", KEYS, ids=["key-32", "key-64", "key-100"])
def test_digests_are_those_of_the_definition_and_survive_a_replacement(app, people, key):
    with app.app_context():
        events = record_events(app, people)
        logins = record_sign_ins()
        if is_sqlite():  # the time without a fraction is what SQLite holds, not a datetime
            sql = "SELECT occurred_at FROM activity_event WHERE id = ?"
            assert database.execute_sql(sql, (events[0],)).fetchone() == ("2026-03-01 12:30:45",)
        activity, sign_ins = table_of("activity"), table_of("logins")
        event = ActivityEvent.get_by_id(events[0])
        assert event.ip and event.user_agent and event.changes and event.metadata
        assert ActivityEvent.get_by_id(events[1]).actor_id is None
        sealed = {
            "activity": assert_digests_are_the_definitions(key, activity, events),
            "logins": assert_digests_are_the_definitions(key, sign_ins, logins),
        }
        seal_all(key)
        assert sealed_pairs("activity") == sealed["activity"]
        assert sealed_pairs("logins") == sealed["logins"]

        before = ActivityEvent.get_by_id(events[0])
        attempt = SignInAttempt.get_by_id(logins[1])
        with database.atomic():
            new = {"actor_name": "Personne 7f3a", "object_label": "Tâche ✗", "ip": None}
            assert replace_values(ActivityEvent, {events[0]: new}, key=key) == 1
            new_login = {"name_typed": "p@x.invalid", "user_agent": "Ersatz ü"}
            assert replace_values(SignInAttempt, {logins[1]: new_login}, key=key) == 1
        originals = {
            events[0]: {name: getattr(before, name) for name in new},
        }
        assert ActivityEvent.get_by_id(events[0]).actor_name == "Personne 7f3a"
        after = assert_digests_are_the_definitions(key, activity, events, originals)
        assert after == sealed["activity"]
        login_originals = {logins[1]: {name: getattr(attempt, name) for name in new_login}}
        after = assert_digests_are_the_definitions(key, sign_ins, logins, login_originals)
        assert after == sealed["logins"]
        report = verify(key=key)
        assert report.ok, [finding.text() for finding in report.findings]
        assert report.records == len(events) + len(logins)


# SQLite holds whatever it is given: values in other forms than peewee writes digest as peewee
# reads them (the reference), not as the driver returns them.
ODD_ROWS = [
    {"occurred_at": "2026-03-01T12:30:45.5"},  # another separator, a short fraction
    {"occurred_at": "2026-03-01 12:30:45+02:00"},  # a time zone
    {"occurred_at": "2026-03-01"},  # a date
    {"occurred_at": "2026-02-30 10:00:00"},  # not a day: kept as text
    {"occurred_at": "2026-02-28 10:00:00"},  # whole second
    {"occurred_at": "not a time"},
    {"actor_id": "12abc"},  # text in an integer column
    {"actor_id": 7.5},  # a real in an integer column
    {"actor_name": "Blob é".encode()},  # bytes in a text column
    {"summary": "", "changes": "", "ip": ""},
]
# Times of peewee's length that it reads as another text: each alone in its range, so no
# other value makes the whole column be read value by value.
ODD_TIMES_ALONE = [
    {"occurred_at": "2026-03-01T12:30:45.500000"},
    {"occurred_at": "\u0662\u0660\u0662\u0666-03-01 12:30:45.000001"},  # Arabic-Indic digits
]


def test_values_stored_in_other_forms_digest_as_peewee_reads_them(app):
    with app.app_context():
        if not is_sqlite():
            pytest.skip("PostgreSQL's columns hold their own type only")
        base = {
            "occurred_at": "2026-03-01 12:30:45.000001",
            "actor_id": 3,
            "actor_name": "Zoë",
            "actor_role": "",
            "verb": "task.updated",
            "action": "updated",
            "object_type": "task",
            "object_id": "1",
            "object_label": "Tâche",
            "summary": "ü",
        }
        ids = [insert_raw({**base, **odd}) for odd in ODD_ROWS + ODD_TIMES_ALONE]
        ActivityAudience.insert(event=ids[2], party=5).execute()
        for key in KEYS:
            assert_digests_are_the_definitions(key, table_of("activity"), ids)
            for record_id in ids[len(ODD_ROWS) :]:
                assert_digests_are_the_definitions(key, table_of("activity"), [record_id])


def insert_raw(row):
    """Insert an event row as given, past peewee's conversions; return its id."""
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    sql = f"INSERT INTO activity_event ({columns}) VALUES ({marks})"
    return database.execute_sql(sql, tuple(row.values())).lastrowid
