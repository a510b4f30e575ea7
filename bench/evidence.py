"""Benchmark of sealing and verifying the record (``core.evidence``); prints ONE JSON object on
stdout (progress on stderr).

Seeds ``--events`` events (the Activity bench's world, ``bench.stream``, through the real bulk
path, as ``bench.export`` seeds them) in a SQLite file, or with ``--postgres`` in a throwaway
PostgreSQL database (dropped afterwards), then deletes 100 of them at random (ids never
committed, as a rolled back insert leaves: the gaps the "row inserted" tampers fill), and:

- ``seal``: ``seal_all`` of the whole store with a fixed key, records/s;
- ``verify``: a full ``verify()`` of the untouched store (with the heads just taken),
  records/s (target ≥ 100,000) and its findings (target 0: no false alarm);
- ``verify_read_floor``: what ``verify()`` must read, read just before it with the plain
  driver and nothing else (each block's rows, every column, and its events' audience: the
  parties, then their rows in the block's range), records/s: the most verification could
  reach on this store and machine, measured in the same run (``verify.vs_read_floor``);
- ``tampers``: ``--tampers`` single-row tampers, spread evenly over seven kinds (a column of
  an event changed by raw SQL, a different column each time; an audience party added, removed
  or replaced; a row deleted; a row inserted in a gap; two rows of a block swapped, audience
  included; one header field of a block edited; the chain's last 1 to 3 blocks cut with their
  records, checked against the head kept before). Each is made in a transaction rolled back
  after its check. The check is **block-level**: the block(s) it touches (its header against
  the block before, as ``verify_chain`` checks it, then ``check_records``; a header edit also
  checks the next block) plus ``check_head`` with the head kept, not the whole store. It is
  detected when the first finding of the expected kind names the tampered record (or block).
  ``--full-checks`` of them, spread over the kinds, are also checked by the full ``verify()``,
  which must find the same as the block-level check (``agree``);
- ``write_path``: events/s recorded one by one (``record_activity``, as ``bench.activity``
  times it) and in bulk (``record_entries`` in batches of 10,000), without and with a sealer
  running ``seal_all`` every second beside the writer, alternated over ``--rounds``
  (everything is sealed, untimed, before each phase). The sealer is a thread of this process,
  or with ``--sealer process`` a process of its own, as the task consumer is. Sealing does
  nothing on the write path itself: the ratio is contention only (the write lock held while a
  block is digested on SQLite, the CPU, and for a thread the interpreter's lock). Target: a
  slowdown of at most 10 %. Up to 200 of the blocks sealed meanwhile, spread evenly, are then
  checked (``sealed_during_writes``: no finding).

It is a benchmark, not a test: a missed target is reported (``"pass"``), exit code 0.

    .venv/bin/python -m bench.evidence                          # 1,000,000 events, SQLite
    .venv/bin/python -m bench.evidence --events 100000 --tampers 140 --full-checks 7
    .venv/bin/python -m bench.evidence --events 100000 --postgres
    .venv/bin/python -m bench.evidence --events 100000 --sealer process
    .venv/bin/python -m bench.evidence --keep /tmp/evidence     # keep the database (a rerun
                                                                # tops it up and seals afresh)
"""

import argparse
import bisect
import contextlib
import functools
import os
import platform
import random
import sys
import threading
import time
from datetime import datetime
from datetime import timedelta

from bench import harness
from bench import stream
from bench.export import seed
from core.db import database
from core.db import is_sqlite
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events.models import PARTY_CHUNK
from core.evidence.guard import lifted as guard_lifted
from core.evidence.seal import SealBlock
from core.evidence.seal import block_mac
from core.evidence.seal import head_text
from core.evidence.seal import last_block
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.evidence.seal import unpack
from core.evidence.verify import Report
from core.evidence.verify import check_head
from core.evidence.verify import check_records
from core.evidence.verify import verify
from core.listing.sql import distinct_values

log = harness.logger("evidence")

KEY = b"bench-seal-key-0123456789abcdef0123456789"
CHAIN = "activity"
GAPS = 100  # ids deleted before sealing: where "row inserted" puts a row back
MIN_EVENTS = 10_000  # ten blocks at least: the tail tampers cut up to three
SEAL_EVERY_S = 1.0
NEW_BLOCKS_CHECKED = 200  # of the blocks sealed while writers ran (each costs a block's check)
TARGETS = {"verify_records_per_s": 100_000, "write_slowdown": 0.10}
TAMPERS = (
    "field modified",
    "audience changed",
    "row deleted",
    "row inserted",
    "rows reordered",
    "block header changed",
    "tail truncated",
)
# The block header fields a tamper edits. Not ``seq``: a block renumbered moves in the
# chain's order, so the walk finds it at its neighbour; not ``kind``: it leaves the chain.
HEADER_FIELDS = ("first_id", "last_id", "count", "pairs", "previous_mac", "sealed_at", "mac")


def at_least(minimum):
    """Return an argparse type: a whole number of at least ``minimum``."""

    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"at least {minimum:,}")
        return value

    return parse


def parse_args(argv=None):
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=at_least(MIN_EVENTS), default=1_000_000, help="events seeded"
    )
    parser.add_argument(
        "--tampers", type=at_least(len(TAMPERS)), default=1000, help="single-row tampers"
    )
    parser.add_argument(
        "--full-checks",
        type=at_least(0),
        default=20,
        help="tampers also checked with the full verify() (default 20)",
    )
    parser.add_argument(
        "--record-events", type=at_least(100), default=2000, help="one-by-one events per phase"
    )
    parser.add_argument(
        "--bulk-events", type=at_least(10_000), default=50_000, help="bulk events per phase"
    )
    parser.add_argument(
        "--rounds", type=at_least(1), default=2, help="rounds of without/with the sealer"
    )
    parser.add_argument(
        "--sealer",
        choices=("thread", "process"),
        default="thread",
        help="where the sealer runs beside the writer: a thread of this process (default) or"
        " a process of its own, as the task consumer is",
    )
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL, not SQLite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ACTIVITY_STREAM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="the server on which --postgres creates its throwaway database",
    )
    parser.add_argument("--keep", metavar="DIR", help="SQLite: work in DIR and keep it")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the tampers")
    args = parser.parse_args(argv)
    if args.full_checks > args.tampers:
        parser.error("--full-checks: at most --tampers")
    return args


# --- the store ------------------------------------------------------------------------------


def activity_table():
    """Return the event store's sealed table."""
    return next(table for table in sealed_tables() if table.kind == CHAIN)


def event_columns():
    """Return the event table's column names, the id first (the model's order)."""
    return [field.column_name for field in ActivityEvent._meta.sorted_fields]


class Parties:
    """Audience rows of given events, read and written through the (party, event) key.

    The audience table has no index on its event: ``WHERE event_id = ?`` alone scans it.
    With every party listed (read once: tampers are rolled back, so the list holds) each
    party is one seek, as a purge by party does.
    """

    def __init__(self):
        rows = database.execute_sql("SELECT DISTINCT party FROM activity_audience")
        self.known = sorted(party for (party,) in rows)
        self.clause = f"party IN ({', '.join(str(int(p)) for p in self.known)})"
        self.unused = (max(self.known, default=0) // 2 + 1) * 2  # a user nobody names

    def of(self, event_id):
        """Return the parties of event ``event_id``, sorted."""
        sql = f"SELECT party FROM activity_audience WHERE {self.clause} AND event_id = {P()}"
        return sorted(party for (party,) in database.execute_sql(sql, (event_id,)))

    def delete(self, condition, params):
        """Delete the audience rows of the events matching ``condition`` (on ``event_id``)."""
        sql = f"DELETE FROM activity_audience WHERE {self.clause} AND {condition}"
        database.execute_sql(sql, params)

    def move(self, event_id, to_id):
        """Give event ``event_id``'s audience rows to event ``to_id``."""
        sql = (
            f"UPDATE activity_audience SET event_id = {P()}"
            f" WHERE {self.clause} AND event_id = {P()}"
        )
        database.execute_sql(sql, (to_id, event_id))


def P():
    """Return the driver's parameter mark (``?`` or ``%s``)."""
    return database.param


def row_of(event_id):
    """Return event ``event_id``'s columns as stored (raw: written back, they are the same)."""
    sql = f"SELECT {', '.join(event_columns())} FROM activity_event WHERE id = {P()}"
    return database.execute_sql(sql, (event_id,)).fetchone()


def insert_row(row, parties):
    """Insert an event row (raw, id first) and its audience."""
    columns = event_columns()
    marks = ", ".join([P()] * len(columns))
    database.execute_sql(
        f"INSERT INTO activity_event ({', '.join(columns)}) VALUES ({marks})", tuple(row)
    )
    for party in parties:
        database.execute_sql(
            f"INSERT INTO activity_audience (event_id, party) VALUES ({P()}, {P()})",
            (row[0], party),
        )


def make_gaps(rng, parties):
    """Delete ``GAPS`` events (and their audience) at random below the newest; return
    ``{id: (row, parties)}`` of what was deleted."""
    low, high = database.execute_sql("SELECT MIN(id), MAX(id) FROM activity_event").fetchone()
    gone = {}
    with database.atomic():
        for event_id in rng.sample(range(low + 1, high), GAPS):
            row = row_of(event_id)
            if row is None:
                continue
            gone[event_id] = (row, parties.of(event_id))
            parties.delete(f"event_id = {P()}", (event_id,))
            database.execute_sql(f"DELETE FROM activity_event WHERE id = {P()}", (event_id,))
    return gone


def sealed_records():
    """Return the records of the activity chain's blocks."""
    query = SealBlock.select(SealBlock.count).where(SealBlock.kind == CHAIN)
    return sum(count for (count,) in query.tuples())


# --- sealing and verifying ------------------------------------------------------------------


def time_seal():
    """Seal the whole store; return its figures."""
    started, cpu = time.perf_counter(), time.process_time()
    made = seal_all(KEY)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    records = sealed_records()
    return {
        "records": records,
        "blocks": made,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "records_per_cpu_s": round(records / cpu),
    }


def time_verify(heads):
    """Verify the whole store with ``heads``; return its figures and findings."""
    started, cpu = time.perf_counter(), time.process_time()
    report = verify(heads, key=KEY)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "records": report.records,
        "blocks": report.blocks,
        "seconds": round(seconds, 2),
        "records_per_s": round(report.records / seconds),
        "records_per_cpu_s": round(report.records / cpu),
        "target_records_per_s": TARGETS["verify_records_per_s"],
        "findings": len(report.findings),
        "found": [finding.text() for finding in report.findings[:10]],
    }


def time_read_floor():
    """Read what ``verify()`` reads of the activity chain, block by block, with the plain
    driver and nothing else (no digest, no conversion); return its figures."""
    ranges = (
        SealBlock.select(SealBlock.first_id, SealBlock.last_id)
        .where(SealBlock.kind == CHAIN)
        .order_by(SealBlock.seq)
        .tuples()
    )
    ranges = list(ranges)
    rows_sql = (
        f"SELECT {', '.join(event_columns())} FROM activity_event"
        f" WHERE id BETWEEN {P()} AND {P()} ORDER BY id"
    )
    started, cpu = time.perf_counter(), time.process_time()
    records = 0
    for first_id, last_id in ranges:
        records += len(database.execute_sql(rows_sql, (first_id, last_id)).fetchall())
        parties = distinct_values(ActivityAudience, "party")
        for start in range(0, len(parties), PARTY_CHUNK):
            chunk = parties[start : start + PARTY_CHUNK]
            sql = (
                f"SELECT event_id, party FROM activity_audience"
                f" WHERE party IN ({', '.join([P()] * len(chunk))})"
                f" AND event_id BETWEEN {P()} AND {P()}"
            )
            database.execute_sql(sql, (*chunk, first_id, last_id)).fetchall()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "records": records,
        "blocks": len(ranges),
        "seconds": round(seconds, 3),
        "records_per_s": round(records / seconds),
        "records_per_cpu_s": round(records / cpu) if cpu else None,
    }


def block(seq):
    """Return block ``seq`` of the activity chain as the table holds it now, or None."""
    return SealBlock.get_or_none((SealBlock.kind == CHAIN) & (SealBlock.seq == seq))


def check_block(table, current, report):
    """Check one block as ``verify_chain`` does on its walk: its header against the block
    before it, then its records (``check_records``).

    ``verify_chain`` checks a header inline, so its three tests are repeated here; the full
    ``verify()`` of a sample of the tampers shows both find the same."""
    previous = block(current.seq - 1)
    report.blocks += 1
    where = f"block {current.seq}"
    expected_seq = previous.seq + 1 if previous else 1
    expected_first = previous.last_id + 1 if previous else 1
    if block_mac(KEY, current) != current.mac:
        report.add(CHAIN, "block header changed", where, "its MAC does not match its header")
    elif current.previous_mac != (previous.mac if previous else ""):
        report.add(CHAIN, "block header changed", where, "it does not follow the previous block")
    elif current.seq != expected_seq or current.first_id != expected_first:
        detail = f"expected block {expected_seq} from id {expected_first}"
        report.add(CHAIN, "block header changed", where, detail)
    check_records(table, KEY, current, report)


def check_blocks(table, seqs, head):
    """Return the block-level report: blocks ``seqs`` (those still there), then the head."""
    report = Report()
    for seq in seqs:
        current = block(seq)
        if current is not None:
            check_block(table, current, report)
    check_head(head, report)
    return report


class _Undo(Exception):
    """Raised at the end of a tamper's transaction to roll it back."""


@contextlib.contextmanager
def rolled_back():
    """Run the block in a transaction that is rolled back at its end."""
    try:
        with database.atomic():
            yield
            raise _Undo
    except _Undo:
        pass


# --- the tampers ----------------------------------------------------------------------------


class Tamperer:
    """Makes each kind of tamper on the sealed store; each returns what verification must
    find (its kind and where), the blocks to check, and what was done."""

    def __init__(self, rng, parties, gaps, blocks):
        self.rng, self.parties, self.gaps = rng, parties, gaps
        self.blocks = blocks  # [(seq, first_id, last_id)] as sealed
        self.firsts = [first for _, first, _ in blocks]
        self.counts = dict.fromkeys(TAMPERS, 0)
        columns = event_columns()[1:]
        self.columns = {
            name: field
            for name, field in zip(columns, ActivityEvent._meta.sorted_fields[1:], strict=True)
        }

    def make(self, kind):
        """Make one tamper of ``kind``; return ``(finding kind, where, blocks, what)``."""
        number = self.counts[kind]
        self.counts[kind] += 1
        return getattr(self, kind.replace(" ", "_"))(number)

    def sealed_record(self):
        """Return a random sealed record: ``(id, block seq, the block's pairs)``."""
        seq = self.rng.randrange(1, len(self.blocks) + 1)
        pairs = unpack(block(seq).pairs)
        return self.rng.choice(pairs)[0], seq, pairs

    def block_of(self, record_id):
        """Return the seq of the block whose range holds ``record_id``."""
        return self.blocks[bisect.bisect_right(self.firsts, record_id) - 1][0]

    def field_modified(self, number):
        """Change one column of a random event (each time the next column) by raw SQL."""
        record_id, seq, _ = self.sealed_record()
        names = list(self.columns)
        column = names[number % len(names)]
        sql = f"SELECT {column} FROM activity_event WHERE id = {P()}"
        (value,) = database.execute_sql(sql, (record_id,)).fetchone()
        changed = other_value(self.columns[column], value)
        sql = f"UPDATE activity_event SET {column} = {P()} WHERE id = {P()}"
        database.execute_sql(sql, (changed, record_id))
        return "field modified", f"record {record_id}", [seq], f"{column} of {record_id}"

    def audience_changed(self, number):
        """Add a party to a random event's audience, remove one, or replace one."""
        record_id, seq, _ = self.sealed_record()
        present = self.parties.of(record_id)
        how = ("added", "removed", "replaced")[number % 3] if present else "added"
        if how != "added":
            gone = self.rng.choice(present)
            sql = f"DELETE FROM activity_audience WHERE party = {P()} AND event_id = {P()}"
            database.execute_sql(sql, (gone, record_id))
        if how != "removed":
            sql = f"INSERT INTO activity_audience (event_id, party) VALUES ({P()}, {P()})"
            database.execute_sql(sql, (record_id, self.parties.unused))
        return "field modified", f"record {record_id}", [seq], f"party {how} on {record_id}"

    def row_deleted(self, number):
        """Delete a random event and its audience."""
        record_id, seq, _ = self.sealed_record()
        self.parties.delete(f"event_id = {P()}", (record_id,))
        database.execute_sql(f"DELETE FROM activity_event WHERE id = {P()}", (record_id,))
        return "row deleted", f"record {record_id}", [seq], f"{record_id} deleted"

    def row_inserted(self, number):
        """Put a deleted row back into its gap (an id the seal never saw), modified."""
        record_id = self.rng.choice(sorted(self.gaps))
        row, parties = self.gaps[record_id]
        row = list(row)
        summary = event_columns().index("summary")
        row[summary] = other_value(self.columns["summary"], row[summary])
        insert_row(row, parties)
        seq = self.block_of(record_id)
        return "row inserted", f"record {record_id}", [seq], f"{record_id} inserted"

    def rows_reordered(self, number):
        """Swap the contents (columns and audience) of two records of one block."""
        _, seq, pairs = self.sealed_record()
        first, second = sorted(self.rng.sample([record_id for record_id, _ in pairs], 2))
        columns = event_columns()[1:]
        settings = ", ".join(f"{column} = {P()}" for column in columns)
        sql = f"UPDATE activity_event SET {settings} WHERE id = {P()}"
        one, other = row_of(first), row_of(second)
        database.execute_sql(sql, (*other[1:], first))
        database.execute_sql(sql, (*one[1:], second))
        # Through a free id: (party, event) is unique at each statement on PostgreSQL.
        self.parties.move(first, -first)
        self.parties.move(second, first)
        self.parties.move(-first, second)
        return "rows reordered", f"record {first}", [seq], f"{first} <-> {second}"

    def block_header_changed(self, number):
        """Edit one header field of a random block (each time the next field)."""
        seq = self.rng.randrange(1, len(self.blocks) + 1)
        current = block(seq)
        name = HEADER_FIELDS[number % len(HEADER_FIELDS)]
        value = getattr(current, name)
        if name in ("first_id", "count"):
            value += 1
        elif name == "last_id":
            value -= 1
        elif name == "pairs":
            data = bytearray(value)
            data[self.rng.randrange(len(data) // 24) * 24 + 8] ^= 0x01  # a digest's first byte
            value = bytes(data)
        elif name == "sealed_at":
            value = (value + timedelta(seconds=1)).isoformat(sep=" ")
        else:  # a MAC: one hex digit changed
            value = flip_hex(value)
        sql = f"UPDATE seal_block SET {name} = {P()} WHERE id = {P()}"
        database.execute_sql(sql, (value, current.id))
        return "block header changed", f"block {seq}", [seq, seq + 1], f"{name} of block {seq}"

    def tail_truncated(self, number):
        """Cut the chain's last 1 to 3 blocks and the records they sealed."""
        cut = 1 + number % 3
        last = self.blocks[-1][0]
        kept, first_cut = last - cut, self.blocks[-cut][1]
        sql = f"DELETE FROM seal_block WHERE kind = {P()} AND seq > {P()}"
        database.execute_sql(sql, (CHAIN, kept))
        self.parties.delete(f"event_id >= {P()}", (first_cut,))
        database.execute_sql(f"DELETE FROM activity_event WHERE id >= {P()}", (first_cut,))
        return "tail truncated", f"block {last}", [kept], f"blocks {kept + 1}-{last} cut"


def other_value(field, value):
    """Return a value of ``field``'s type other than ``value`` (strings keep their length:
    PostgreSQL's columns have one)."""
    if field.field_type == "DATETIME":  # SQLite answers text, PostgreSQL a datetime
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return (moment + timedelta(seconds=1)).isoformat(sep=" ")
    if field.field_type in ("INT", "BIGINT"):
        return 1 if value is None else value + 1
    if not value:
        return "x"
    return value[:-1] + ("x" if value[-1] != "x" else "y")


def flip_hex(text):
    """Return ``text`` (hex, or empty) with its first digit changed."""
    if not text:
        return "0" * 64
    return ("1" if text[0] == "0" else "0") + text[1:]


def first_where(report, kind):
    """Return where the first finding of ``kind`` in the activity chain is, or None."""
    return next((f.where for f in report.findings if f.chain == CHAIN and f.kind == kind), None)


def findings_of(report):
    """Return the report's findings as sorted ``(chain, kind, where)``."""
    return sorted((f.chain, f.kind, f.where) for f in report.findings)


def run_tampers(count, full_checks, rng, parties, gaps, head):
    """Make ``count`` tampers, each checked and rolled back; return the tally."""
    table = activity_table()
    blocks = list(
        SealBlock.select(SealBlock.seq, SealBlock.first_id, SealBlock.last_id)
        .where(SealBlock.kind == CHAIN)
        .order_by(SealBlock.seq)
        .tuples()
    )
    tamperer = Tamperer(rng, parties, gaps, blocks)
    full_at = {round(n * count / full_checks) for n in range(full_checks)} if full_checks else set()
    by_kind = {kind: {"detected": 0, "total": 0, "with_other_findings": 0} for kind in TAMPERS}
    missed, others, check_ns = [], {}, []
    full = {"checked": 0, "detected": 0, "agree": 0, "seconds": [], "disagreements": []}
    started = time.perf_counter()
    for number in range(count):
        kind = TAMPERS[number % len(TAMPERS)]
        with rolled_back():
            expected, where, seqs, what = tamperer.make(kind)
            t0 = time.perf_counter_ns()
            report = check_blocks(table, seqs, head)
            check_ns.append(time.perf_counter_ns() - t0)
            if number in full_at:
                t1 = time.perf_counter()
                whole = verify([head], key=KEY)
                full["seconds"].append(time.perf_counter() - t1)
                full["checked"] += 1
                full["detected"] += first_where(whole, expected) == where
                if findings_of(whole) == findings_of(report):
                    full["agree"] += 1
                else:
                    full["disagreements"].append(
                        {
                            "tamper": f"{kind}: {what}",
                            "block_level": [f.text() for f in report.findings],
                            "full": [f.text() for f in whole.findings],
                        }
                    )
        tally = by_kind[kind]
        tally["total"] += 1
        if first_where(report, expected) == where:
            tally["detected"] += 1
        elif len(missed) < 20:
            missed.append(
                {"tamper": f"{kind}: {what}", "found": [f.text() for f in report.findings]}
            )
        other = [f for f in report.findings if f.kind != expected]
        if other:
            tally["with_other_findings"] += 1
            others.setdefault(kind, f"{what}: also {other[0].text()}")
        if (number + 1) % 100 == 0:
            log(f"{number + 1:,} tampers checked")
    detected = sum(tally["detected"] for tally in by_kind.values())
    seconds = full.pop("seconds")
    return {
        "check": (
            "block-level: the tampered block (header against the block before, as verify_chain"
            " checks it, then check_records; a header edit also checks the next block) and"
            " check_head with the head kept, in the tamper's transaction; not the whole store"
        ),
        "detected": detected,
        "total": count,
        "by_kind": by_kind,
        "missed": missed,
        "other_findings_examples": others,
        "block_check": harness.summary_ms(check_ns),
        "full_verify": {
            **full,
            "median_s": round(sorted(seconds)[len(seconds) // 2], 2) if seconds else None,
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- the write path -------------------------------------------------------------------------


class Sealer(threading.Thread):
    """Runs ``seal_all`` every ``every`` seconds in its own app context until halted, as the
    periodic task does (there every minute, in the consumer)."""

    def __init__(self, app, every=SEAL_EVERY_S):
        super().__init__(daemon=True, name="sealer")
        self.app, self.every = app, every
        self.halt = threading.Event()
        self.runs = self.blocks = 0
        self.busy_s = 0.0
        self.error = None

    def run(self):
        """Seal, wait for the next second, again."""
        with self.app.app_context():
            try:
                while not self.halt.is_set():
                    started = time.perf_counter()
                    self.blocks += sum(seal_all(KEY).values())
                    took = time.perf_counter() - started
                    self.runs += 1
                    self.busy_s += took
                    self.halt.wait(max(0.0, self.every - took))
            except Exception as error:  # reported with the phase, not lost in the thread
                self.error = f"{type(error).__name__}: {error}"

    def stop(self):
        """Halt after the current run; return what it did."""
        self.halt.set()
        self.join()
        if self.error:
            raise RuntimeError(f"the sealer failed: {self.error}")
        return {"runs": self.runs, "blocks": self.blocks, "busy_s": round(self.busy_s, 2)}


def unsealed():
    """Return how many events lie above the activity chain's last sealed id."""
    return ActivityEvent.select().where(ActivityEvent.id > last_block(CHAIN).last_id).count()


def write_phase(app, path, new_sealer, args, world, rng):
    """Record events by ``path``, with a sealer from ``new_sealer()`` or (None) without;
    return the figures."""
    actors, teams_of, everyone = world
    seal_all(KEY)  # untimed: each phase starts with everything sealed
    sealed_before = last_block(CHAIN).seq
    sealer = new_sealer() if new_sealer else None
    if sealer:
        sealer.start()
    if path == "one_by_one":
        timed = stream.record_one_by_one(app, args.record_events, actors, everyone, rng)
    else:
        timed = stream.bulk_ingest(args.bulk_events, actors, teams_of, everyone, rng)
    phase = {"events": timed["events"], "seconds": timed["seconds"]}
    phase["events_per_s"] = timed["events_per_s"]
    if sealer:
        done = sealer.stop()
        counts = SealBlock.select(SealBlock.count).where(
            (SealBlock.kind == CHAIN) & (SealBlock.seq > sealed_before)
        )
        records = sum(count for (count,) in counts.tuples())
        phase["sealer"] = {
            **done,
            "records": records,
            # Small blocks: the sealer went round again and again behind the writer.
            "records_per_block": round(records / max(1, done["blocks"]), 1),
            "left_unsealed": unsealed(),
        }
    return phase


def combined(phases):
    """Return the events/s of ``phases`` taken together."""
    events = sum(phase["events"] for phase in phases)
    return round(events / sum(phase["seconds"] for phase in phases))


def write_path(app, args, rng, new_sealer):
    """Time both write paths without and with the sealer (``new_sealer()`` makes one),
    alternated; return the figures."""
    with app.app_context():
        actors, teams_of = stream.seed_users()
        world = (actors, teams_of, stream.everyone_of(actors))
        first_new = last_block(CHAIN).seq + 1
    where = "a thread of this process" if args.sealer == "thread" else "a process of its own"
    result = {
        "sealer": f"{where} running seal_all every {SEAL_EVERY_S:g} s",
        "target_slowdown": TARGETS["write_slowdown"],
    }
    for path in ("one_by_one", "bulk"):
        rounds = []
        for number in range(args.rounds):
            # Alternate which goes first: the store grows, the machine's load drifts.
            order = (False, True) if number % 2 == 0 else (True, False)
            entry = {}
            for with_sealer in order:
                label = "with_sealer" if with_sealer else "without_sealer"
                log(f"write path: {path}, round {number + 1}, {label.replace('_', ' ')}")
                with app.app_context():
                    sealer = new_sealer if with_sealer else None
                    entry[label] = write_phase(app, path, sealer, args, world, rng)
            rounds.append(entry)
        without = combined([entry["without_sealer"] for entry in rounds])
        with_ = combined([entry["with_sealer"] for entry in rounds])
        result[path] = {
            "without_sealer_events_per_s": without,
            "with_sealer_events_per_s": with_,
            "ratio": round(with_ / without, 3),
            "slowdown": round(1 - with_ / without, 3),
            "rounds": rounds,
        }
        log(f"{path}: {without:,} events/s without the sealer, {with_:,} with")
    with app.app_context():
        seal_all(KEY)
        result["sealed_during_writes"] = check_new_blocks(first_new)
    return result


def check_new_blocks(first_seq):
    """Check up to ``NEW_BLOCKS_CHECKED`` of the blocks from ``first_seq`` on (sealed while
    writers ran), spread evenly, the last included; return the counts and the findings."""
    table = activity_table()
    last = last_block(CHAIN).seq
    made = last - first_seq + 1
    step = max(1.0, made / NEW_BLOCKS_CHECKED)
    spread = {first_seq + int(n * step) for n in range(min(made, NEW_BLOCKS_CHECKED))}
    report = Report()
    for seq in sorted(spread | {last}):
        check_block(table, block(seq), report)
    return {
        "blocks_made": made,
        "blocks_checked": report.blocks,
        "records_checked": report.records,
        "findings": len(report.findings),
        "found": [finding.text() for finding in report.findings[:10]],
    }


# --- the run --------------------------------------------------------------------------------


def measure(args, workdir, database_url, result):
    """Seed, seal, verify, tamper and time the write path on ``database_url``."""
    rng = random.Random(args.seed)
    app = harness.build_app(database_url, workdir, SEAL_KEY=KEY.decode())
    log(f"seeding up to {args.events:,} events")
    started = time.perf_counter()
    stored = seed(app, args.events)
    result["config"]["seeding_s"] = round(time.perf_counter() - started, 1)
    with app.app_context(), guard_lifted():
        # A kept database is sealed afresh: the sealing speed is that of the whole store.
        SealBlock.delete().execute()
        parties = Parties()
        gaps = make_gaps(rng, parties)
        if not is_sqlite():
            database.execute_sql("ANALYZE")  # autovacuum would, a little later
        result["config"]["events"] = stored
        result["config"]["gaps"] = len(gaps)
        result["config"]["audience_parties"] = len(parties.known)
    harness.close_database()
    os.sync()  # the seeding's writes are flushed before anything is timed
    with app.app_context():
        log("sealing the whole store")
        result["seal"] = time_seal()
        sealed = result["seal"]
        log(f"sealed {sealed['records']:,} records: {sealed['records_per_s']:,} records/s")
        heads = [head_text(table.kind) for table in sealed_tables()]
        heads = [head for head in heads if head]
        log("reading what verify reads with the plain driver (its floor)")
        result["verify_read_floor"] = floor = time_read_floor()
        log("verifying the untouched store")
        result["verify"] = time_verify(heads)
        result["verify"]["vs_read_floor"] = round(
            result["verify"]["records_per_s"] / floor["records_per_s"], 3
        )
        log(
            f"verified: {result['verify']['records_per_s']:,} records/s"
            f" (the plain driver's read of the same: {floor['records_per_s']:,} records/s)"
        )
        log(f"{args.tampers:,} tampers ({args.full_checks} also checked with the full verify)")
        head = head_text(CHAIN)
        # The tamperer may drop the database's guard on the record tables, as their owner can:
        # the seals are what must show what was done.
        with guard_lifted():
            result["tampers"] = run_tampers(
                args.tampers, args.full_checks, rng, parties, gaps, head
            )
        log(f"tampers detected: {result['tampers']['detected']} of {args.tampers}")
    harness.close_database()
    result["config"]["load_average_1m"]["before_write_path"] = round(os.getloadavg()[0], 2)
    if args.sealer == "process":
        new_sealer = functools.partial(
            harness.ProcessBeside,
            Sealer,
            database_url,
            workdir,
            "sealer",
            stop_seconds=900,
            SEAL_KEY=KEY.decode(),
        )
    else:
        new_sealer = functools.partial(Sealer, app)
    result["write_path"] = write_path(app, args, rng, new_sealer)


def evaluate(result):
    """Return the targets met and missed."""
    tampers, writes = result["tampers"], result["write_path"]
    full = tampers["full_verify"]
    slowdown = TARGETS["write_slowdown"]
    return {
        "verify_ge_100k_records_per_s": result["verify"]["records_per_s"]
        >= TARGETS["verify_records_per_s"],
        "no_false_alarm": result["verify"]["findings"] == 0
        and writes["sealed_during_writes"]["findings"] == 0,
        "every_tamper_detected": tampers["detected"] == tampers["total"],
        # None: no tamper was checked by the full verify() (--full-checks 0)
        "full_verify_agrees": full["agree"] == full["checked"] == full["detected"]
        if full["checked"]
        else None,
        "one_by_one_slowdown_le_10pct": writes["one_by_one"]["slowdown"] <= slowdown,
        "bulk_slowdown_le_10pct": writes["bulk"]["slowdown"] <= slowdown,
    }


def run(args, workdir, result):
    """Measure on SQLite, or (``--postgres``) on a throwaway PostgreSQL database."""
    result["config"] = {
        "events_asked": args.events,
        "tampers": args.tampers,
        "full_checks": args.full_checks,
        "record_events": args.record_events,
        "bulk_events": args.bulk_events,
        "rounds": args.rounds,
        "sealer": args.sealer,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m": {"start": round(os.getloadavg()[0], 2)},
        "git": harness.git_state(),
    }
    if args.postgres:
        with harness.throwaway_postgres(args.postgres_url, "bench_evidence") as url:
            result["config"]["database_url"] = harness.redact(url)
            measure(args, workdir, url, result)
    else:
        url = f"sqlite:///{workdir / 'evidence.db'}"
        result["config"]["database_url"] = url
        measure(args, workdir, url, result)
    result["config"]["load_average_1m"]["end"] = round(os.getloadavg()[0], 2)
    result["pass"] = evaluate(result)


def main(argv=None):
    """Run the benchmark and print its JSON: exit 0 unless it fails."""
    args = parse_args(argv)
    with harness.work_directory(args.keep, "evidence-bench-") as workdir:
        return harness.run_and_print(run, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
