"""Sealing: blocks of record digests, chained by an HMAC whose key is not in the database.

A record's digest is HMAC-SHA256(key, its canonical content), cut to 16 bytes: every column
but the id in the model's order (times as ISO text), then what belongs to it in other tables (an
event's audience parties, sorted). A block seals the records of one sealed table whose ids
follow the previous block's last id, up to the commit horizon: ``(id, digest)`` pairs packed
in id order. Its header holds its sequence number, its id range, its count, the SHA-256 of
the packed pairs and the previous block's MAC; its MAC is HMAC-SHA256(key, header).

So, without the key, nobody can write a digest or a header that verifies: a row changed,
removed or added below the last sealed id, a block's pairs or header edited, a block removed
from the chain, all show. Blocks cover id ranges back to back (``first_id`` is the previous
``last_id + 1``), so a row inserted anywhere below the last sealed id falls in some block.

What sealing cannot show: records newer than the last seal (sealed within the minute by the
periodic task, or at once with ``flask stream seal``), and the chain's tail cut off together
with the records it sealed. For the tail, keep the latest head (``head_text``) somewhere else
(it is printed by the commands, and mailed or exported): ``verify`` compares it.

The key: ``ACTIVITY_STREAM_SEAL_KEY``, else the file ``seal_key`` in the instance folder beside
the secret key, created on first use. Whoever holds it can re-seal forged records; keep it
out of the database's backups and away from those who administer the database.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import struct
from collections import deque
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from itertools import chain
from itertools import repeat
from operator import attrgetter
from operator import methodcaller
from pathlib import Path

import peewee
from flask import current_app

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.records import commit_horizon

BLOCK_RECORDS = 1000  # records per block at most
PAIR = struct.Struct(">q16s")  # one sealed record: its id, its digest


@dataclass(frozen=True)
class SealedTable:
    """A table whose records are sealed: ``kind`` names its chain; ``model`` is its peewee
    model; ``belongings(ids)`` returns ``{id: value}`` of what belongings each record has in
    other tables (JSON-able, part of its digest), or None; ``personal`` names the columns
    that may hold a person's data (names, addresses, free text), which the digest commits to
    through a keyed hash of their value (``personal_hash``) rather than the value itself."""

    kind: str
    model: type
    belongings: object = None
    personal: tuple = ()


def event_audiences(ids):
    """Return ``{event id: sorted audience parties}`` of the events ``ids`` (what belongs to
    an event in the audience table, part of its digest)."""
    from core.events.models import PARTY_CHUNK
    from core.events.models import ActivityAudience as audience
    from core.listing.sql import distinct_values

    # The audience is keyed (party, event) alone: "the rows of these events" is one range
    # seek per party, the parties read by one index step each (a loose index scan). Read by
    # event range instead, every block would scan the whole table.
    parties = distinct_values(audience, "party")
    if not set(map(type, parties)) <= {int}:  # parameters as peewee passes them
        parties = [audience.party.db_value(party) for party in parties]
    low, high = audience.event.db_value(min(ids)), audience.event.db_value(max(ids))
    found = {}
    for start in range(0, len(parties), PARTY_CHUNK):
        chunk = parties[start : start + PARTY_CHUNK]
        marks = ", ".join([database.param] * len(chunk))
        sql = (
            f"SELECT event_id, party FROM {audience._meta.table_name}"
            f" WHERE party IN ({marks}) AND event_id BETWEEN {database.param} AND {database.param}"
        )
        # The driver's rows, not peewee's: its query building and per-row conversion would
        # cost more than the reading. Integers (all there is) as they are; anything else is
        # read again as peewee reads it.
        params = (*chunk, low, high)
        held = group_pairs(database.execute_sql(sql, params))
        if not is_all_int(held):
            event, party = audience.event.python_value, audience.party.python_value
            rows = database.execute_sql(sql, params)
            held = group_pairs((event(event_id), party(one)) for event_id, one in rows)
        if not found:
            found = held
            continue
        for event_id, parties_held in held.items():
            found.setdefault(event_id, []).extend(parties_held)
    for parties_held in found.values():
        parties_held.sort()
    return found


def group_pairs(pairs):
    """Return ``{first: [second, …]}`` of ``pairs``, in their order."""
    grouped = {}
    for first, second in pairs:
        grouped.setdefault(first, []).append(second)
    return grouped


def is_all_int(grouped):
    """Tell whether the keys and values of ``grouped`` (``group_pairs``) are all integers."""
    kinds = set(map(type, grouped))
    kinds.update(map(type, chain.from_iterable(grouped.values())))
    return kinds <= {int}


def sealed_tables():
    """Return the sealed tables: the event store (each event with its audience) and the
    sign-in log. Both are append-only; their writers take ids with ``allocate_ids``, so the
    commit horizon bounds them on PostgreSQL."""
    from core.auth.signins import SignInAttempt
    from core.events.models import ActivityEvent

    event_personal = (
        "actor_name",
        "object_label",
        "target_label",
        "summary",
        "changes",
        "ip",
        "user_agent",
        "actor_external_id",
        "metadata",
    )
    return [
        SealedTable("activity", ActivityEvent, event_audiences, event_personal),
        SealedTable("logins", SignInAttempt, personal=("name_typed", "ip", "user_agent")),
    ]


class SealBlock(BaseModel):
    """One block of one chain (``kind``): the records with ids ``first_id``..``last_id``."""

    kind = peewee.CharField(max_length=40)
    seq = peewee.IntegerField()  # 1, 2, … per kind
    first_id = peewee.BigIntegerField()
    last_id = peewee.BigIntegerField()
    count = peewee.IntegerField()
    pairs = peewee.BlobField()  # PAIR-packed (id, digest), in id order; b"" once cleared
    # Set when retention removed every record of the block and its pairs were cleared: the
    # SHA-256 of the pairs the header's MAC covers.
    pairs_sha256 = peewee.CharField(max_length=64, null=True)
    previous_mac = peewee.CharField(max_length=64)  # "" for the first block
    sealed_at = peewee.DateTimeField(default=utcnow)
    mac = peewee.CharField(max_length=64)

    class Meta:
        table_name = "seal_block"
        indexes = ((("kind", "seq"), True),)


class PruneNote(BaseModel):
    """The ids of block ``seq``'s records that retention removed (``>q``-packed), MACed:
    what tells a prune from a deletion behind the app's back. Written in the prune's own
    transaction, so a record never goes without its note."""

    kind = peewee.CharField(max_length=40)
    seq = peewee.IntegerField()
    ids = peewee.BlobField()
    pruned_at = peewee.DateTimeField(default=utcnow)
    mac = peewee.CharField(max_length=64)

    class Meta:
        table_name = "seal_prune_note"
        indexes = ((("kind", "seq"), False),)


MODELS = [SealBlock, PruneNote]


# The key ---------------------------------------------------------------------------------


def seal_key():
    """Return the sealing key (bytes): the ``SEAL_KEY`` setting, else the instance folder's
    ``seal_key`` file, created on first use (never in the database)."""
    configured = current_app.config.get("SEAL_KEY")
    if configured:
        return configured.encode() if isinstance(configured, str) else configured
    path = Path(current_app.instance_path) / "seal_key"
    if not path.exists():
        try:  # O_EXCL: two processes starting together must not write two different keys
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip().encode()
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


# Digests and MACs ------------------------------------------------------------------------


def canonical(value):
    """Return ``value`` as the digest reads it: times as ISO text, others as they are."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def personal_hasher(key):
    """Return ``hash(value)``: the keyed hash a digest commits to for a personal column's
    value (None stays None). Why: replacing a person's data by a pseudonym can then keep the
    seals valid, with a sealed note of the replaced value's hash, without keeping the value."""
    personal_key = hashlib.sha256(b"personal|" + key).digest()

    def hash_value(value):
        if value is None:
            return None
        text = str(canonical(value)).encode("utf-8")
        return hashlib.blake2b(text, key=personal_key, digest_size=16).hexdigest()

    return hash_value


BODY_JSON = {"ensure_ascii": False, "separators": (",", ":"), "default": str}


def record_digest(key, values, belonging=None):
    """Return the 16-byte digest of one record: its column ``values`` and ``belonging``."""
    body = json.dumps([[canonical(v) for v in values], belonging], **BODY_JSON)
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).digest()[:16]


def block_mac(key, block):
    """Return the MAC of ``block``'s header (hex)."""
    header = "|".join(
        [
            block.kind,
            str(block.seq),
            str(block.first_id),
            str(block.last_id),
            str(block.count),
            pairs_sha256(block),
            block.previous_mac,
            canonical(block.sealed_at),
        ]
    )
    return hmac.new(key, header.encode(), hashlib.sha256).hexdigest()


def pairs_sha256(block):
    """Return the SHA-256 (hex) of the pairs ``block`` sealed: of its stored pairs, or, for a
    block whose pairs were cleared (none stored), the one kept when they were."""
    if not block.pairs and block.pairs_sha256:
        return block.pairs_sha256
    return hashlib.sha256(bytes(block.pairs)).hexdigest()


def is_cleared(block):
    """Tell whether ``block``'s pairs were cleared (retention removed all its records)."""
    return not block.pairs and bool(block.pairs_sha256)


def add_pairs_sha256():
    """Add ``pairs_sha256`` to ``seal_block`` (blocks sealed before have their pairs)."""
    present = {c.name for c in database.get_columns(SealBlock._meta.table_name)}
    if "pairs_sha256" not in present:
        database.execute_sql("ALTER TABLE seal_block ADD COLUMN pairs_sha256 VARCHAR(64)")


def digests(key, table, first_id, last_id):
    """Return ``[(id, digest)]`` of ``table``'s records with ids ``first_id``..``last_id``,
    as the tables hold them now, in id order.

    Each digest is ``record_digest`` of the record's values (personal ones by
    ``personal_hasher``) as peewee reads them, bit for bit; but the rows are the driver's,
    handled a column at a time: what verification spends its time on (see ``read_column``)."""
    model = table.model
    fields = model._meta.sorted_fields
    bounds = (model.id.db_value(first_id), model.id.db_value(last_id))
    rows = database.execute_sql(range_sql(model), bounds).fetchall()
    if not rows:
        return []
    columns = list(zip(*rows, strict=True))
    del rows  # the columns hold its values: a block's row tuples go at once
    ids = python_column(fields[0], columns[0])
    values = [
        read_column(field, column) for field, column in zip(fields[1:], columns[1:], strict=True)
    ]
    belongings = table.belongings(ids) if table.belongings else {}
    personal = [i for i, field in enumerate(fields[1:]) if field.name in table.personal]
    # Read after the rows: a row read before its replacement committed still matches a note.
    from core.evidence.replace import original_hashes

    replaced = original_hashes(key, table.kind, first_id, last_id) if personal else {}
    hasher = PersonalHasher(key)
    for i in personal:
        values[i] = hasher.column(values[i])
    if replaced:
        names = [field.name for field in fields[1:]]
        for i in personal:
            values[i] = as_noted(values[i], names[i], ids, replaced)
    # The id is not in the digest: the pair binds them, and a record moved to another id
    # (rows reordered) is then recognised by its digest. Each record's values are gathered one
    # at a time, as they are encoded: a block of tuples kept alive is what the garbage
    # collector would walk, again and again.
    records = zip(zip(*values, strict=True), map(belongings.get, ids), strict=True)
    return list(zip(ids, map(record_mac(key), ENCODE_BODIES(records)), strict=True))


def as_noted(hashes, name, ids, replaced):
    """Return the column ``name``'s ``hashes`` (of the records ``ids``) with each value
    replaced through the app and noted (``replaced``, from ``original_hashes``) read as its
    original hash."""
    hashes = list(hashes)
    for n, record_id in enumerate(ids):
        if record_id in replaced:
            original, accepted = replaced[record_id].get(name, (None, ()))
            if hashes[n] in accepted:  # a person's value replaced through the app, noted
                hashes[n] = original
    return hashes


def range_sql(model):
    """Return the SQL of ``model``'s rows with ids between two parameters, every column in
    the model's order, in id order."""
    columns = ", ".join(f'"{field.column_name}"' for field in model._meta.sorted_fields)
    table, key, mark = model._meta.table_name, model.id.column_name, database.param
    return (
        f'SELECT {columns} FROM "{table}" WHERE "{key}" BETWEEN {mark} AND {mark} ORDER BY "{key}"'
    )


# Reading rows as the digest does, fast ----------------------------------------------------
#
# A digest is defined on peewee's values: ``canonical(field.python_value(raw))`` of each column.
# peewee converts every value of every row; here a column whose values the driver already
# returns as peewee would (text in a text column, integers in an integer column) is taken as it
# is, after one look at the types in the whole column, and the rest is converted as peewee does.

TEXT_FIELDS = (peewee.CharField, peewee.TextField)  # not FixedCharField: peewee strips it
INT_FIELDS = (
    peewee.IntegerField,
    peewee.BigIntegerField,
    peewee.SmallIntegerField,
    peewee.AutoField,
    peewee.BigAutoField,
)
NONE = type(None)
# SQLite holds a time as peewee writes it: "YYYY-MM-DD HH:MM:SS[.ffffff]" (no fraction when the
# microseconds are 0). ASCII digits only: strptime, peewee's fallback, takes any Unicode digit.
TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", re.ASCII)
FULL_TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", re.ASCII)
TIME_ZONE = attrgetter("tzinfo")
ISO_TIME = methodcaller("isoformat", " ", "microseconds")  # canonical() of a naive datetime
COPY = methodcaller("copy")


def python_column(field, values):
    """Return ``field.python_value`` of each of ``values`` (ids: integers as they are)."""
    if type(field) in INT_FIELDS and set(map(type, values)) <= {int}:
        return values
    return [field.python_value(value) for value in values]


def read_column(field, values):
    """Return ``canonical(field.python_value(v))`` of each of ``values``, one column of the
    driver's rows, as the digest reads it."""
    kinds = set(map(type, values))
    if type(field) in TEXT_FIELDS and kinds <= {str, NONE}:
        return values
    if type(field) in INT_FIELDS and kinds <= {int, NONE}:
        return values
    if type(field) is peewee.DateTimeField:
        if kinds <= {str} and all(map(FULL_TIME_TEXT.fullmatch, values)):
            # peewee parses such a text to the datetime canonical() writes back as that text
            # (or, not a valid time, leaves it as it is): either way, the text itself.
            return values
        if kinds <= {datetime} and set(map(TIME_ZONE, values)) == {None}:
            return list(map(ISO_TIME, values))  # the driver's datetimes (PostgreSQL)
        return [time_text(field, value) for value in values]
    return [canonical(field.python_value(value)) for value in values]


def time_text(field, value):
    """Return ``canonical(field.python_value(value))`` of a ``DateTimeField``'s value."""
    if type(value) is str:
        match = TIME_TEXT.fullmatch(value)
        if match and match[1]:
            return value
        if match:
            try:  # what peewee tries first: when it fails, peewee's own way below
                datetime.fromisoformat(value)
            except ValueError:
                pass
            else:
                return value + ".000000"
    elif type(value) is datetime and value.tzinfo is None:
        return value.isoformat(sep=" ", timespec="microseconds")
    return canonical(field.python_value(value))


class PersonalHasher:
    """``personal_hasher(key)`` over whole columns: the keyed BLAKE2b state is built once and
    copied per value, and a value repeated in a column (a name, an address) is hashed once."""

    def __init__(self, key):
        self.hash_value = personal_hasher(key)
        personal_key = hashlib.sha256(b"personal|" + key).digest()
        self.keyed = hashlib.blake2b(key=personal_key, digest_size=16)

    def texts(self, values):
        """Return the hash of each of the texts ``values`` (as ``personal_hasher`` hashes
        them), by C-level loops: a Python call per value would cost as much as its hash."""
        states = list(map(COPY, repeat(self.keyed, len(values))))
        deque(map(type(self.keyed).update, states, map(str.encode, values)), maxlen=0)
        return list(map(type(self.keyed).hexdigest, states))

    def column(self, values):
        """Return the hash of each of ``values`` (canonical values; None stays None)."""
        kinds = set(map(type, values))
        if kinds == {NONE}:
            return values
        if not kinds <= {str, NONE}:
            return [self.hash_value(value) for value in values]
        distinct = list(set(values) - {None})
        hashes = dict(zip(distinct, self.texts(distinct), strict=True))
        hashes[None] = None
        return list(map(hashes.__getitem__, values))


SHA256_BLOCK = 64
INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


def record_mac(key):
    """Return ``mac(body)``: ``record_digest``'s HMAC-SHA256 of a record's JSON ``body`` (text),
    cut to 16 bytes. The HMAC's inner and outer states (RFC 2104) are keyed once, then copied
    per record: keying them is half the cost of a short record's HMAC."""
    if len(key) > SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    key = bytes(key).ljust(SHA256_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(INNER_PAD))
    outer = hashlib.sha256(key.translate(OUTER_PAD))

    def mac(body):
        state = inner.copy()
        state.update(body.encode("utf-8"))
        result = outer.copy()
        result.update(state.digest())
        return result.digest()[:16]

    return mac


def bodies_encoder():
    """Return ``encode(values)``: ``json.dumps(value, **BODY_JSON)`` of each of ``values``,
    one by one: the bodies of ``record_digest``.

    ``json.dumps`` makes an encoder for each call, and that encoder makes its C scanner for
    each value: here the C scanner is made once, as it would make it (but for the check for
    circular values, which a record's flat values cannot be), and run by C-level loops.
    Checked on a sample; the plain encoder where this Python's json differs."""
    plain = json.JSONEncoder(**BODY_JSON).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    try:
        scan = make(None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    except TypeError:  # no C encoder (None), or another signature
        scan = None

    def encode(values):
        return map("".join, map(scan, values, repeat(0)))

    def encode_plainly(values):
        return map(plain, values)

    sample = [(('é "q"\n\u2028\x00\\', 1, -2, None, 10**20, True, 1.5), [2, 5]), ((), None)]
    try:
        same = list(encode(sample)) == [json.dumps(value, **BODY_JSON) for value in sample]
    except (TypeError, ValueError):
        same = False
    return encode if same else encode_plainly


ENCODE_BODIES = bodies_encoder()


def pack(pairs):
    """Return ``[(id, digest)]`` packed as a block stores them."""
    return b"".join(PAIR.pack(record_id, digest) for record_id, digest in pairs)


def unpack(data):
    """Return a block's stored pairs as ``[(id, digest)]``."""
    return list(PAIR.iter_unpack(bytes(data)))


# Sealing ---------------------------------------------------------------------------------


def last_block(kind):
    """Return the newest block of ``kind``'s chain, or None."""
    return SealBlock.select().where(SealBlock.kind == kind).order_by(SealBlock.seq.desc()).first()


def seal(table, key=None, block_records=BLOCK_RECORDS):
    """Seal ``table``'s records committed since its last block, up to the highest id committed
    when the call starts, in blocks of at most ``block_records``; return the blocks made.

    Reads below the commit horizon on PostgreSQL, so a record committing late with a lower id
    is never passed over. The records are read and digested outside any transaction (they are
    committed and append-only): only each block's insert is a write, so writers wait for a
    block's one row, never for its digests. Two sealers at once: the chain's unique
    (kind, seq) lets one block in; the other stops (the next run carries on).
    """
    key = key or seal_key()
    model = table.model
    horizon = commit_horizon(model._meta.table_name)
    newest = model.select(peewee.fn.MAX(model.id))
    if horizon is not None:
        newest = newest.where(model.id < horizon)
    target = newest.scalar()  # fixed now: a sealer never chases writers
    made = []
    previous = last_block(table.kind)
    while target is not None:
        start = previous.last_id + 1 if previous else 1
        if start > target:
            return made
        ids = (
            model.select(model.id)
            .where(model.id.between(start, target))
            .order_by(model.id)
            .limit(block_records)
        )
        ids = [i for (i,) in ids.tuples()]
        if not ids:
            return made
        pairs = digests(key, table, start, ids[-1])
        block = SealBlock(
            kind=table.kind,
            seq=previous.seq + 1 if previous else 1,
            first_id=start,
            last_id=ids[-1],
            count=len(pairs),
            pairs=pack(pairs),
            previous_mac=previous.mac if previous else "",
            sealed_at=utcnow().replace(microsecond=0),
        )
        block.mac = block_mac(key, block)
        try:
            with database.atomic():
                block.save(force_insert=True)
        except peewee.IntegrityError:
            return made  # another sealer made this block
        made.append(block)
        previous = block
    return made


def seal_all(key=None):
    """Seal every sealed table; return ``{kind: blocks made}``."""
    key = key or seal_key()
    return {table.kind: len(seal(table, key)) for table in sealed_tables()}


def head_text(kind):
    """Return the chain's head as text to keep elsewhere: ``kind:seq:last_id:mac``, or None
    before the first block."""
    return head_of(last_block(kind))


def head_of(block):
    """Return ``block`` as a head to keep elsewhere (``kind:seq:last_id:mac``; None for
    None)."""
    if block is None:
        return None
    return f"{block.kind}:{block.seq}:{block.last_id}:{block.mac}"


# Pruning ---------------------------------------------------------------------------------

PRUNED_ID = struct.Struct(">q")


def note_mac(key, note):
    """Return the MAC of a prune note (hex)."""
    ids = hashlib.sha256(bytes(note.ids)).hexdigest()
    return tagged_mac(key, "prune", [note.kind, str(note.seq), ids, canonical(note.pruned_at)])


def tagged_mac(key, tag, parts):
    """Return the MAC (hex) of a note of kind ``tag`` made of the text ``parts``."""
    message = f"{tag}|" + "|".join(parts)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def note_pruned(model, ids, key=None):
    """Note, in the caller's transaction, that retention removes the records ``ids`` of
    ``model``: one MACed note per sealed block they fall in. A record above the last block
    (never sealed) needs none. Nothing to do for a table that is not sealed."""
    table = next((t for t in sealed_tables() if t.model is model), None)
    if table is None or not ids:
        return
    key = key or seal_key()
    ids = sorted(ids)
    blocks = (
        SealBlock.select(SealBlock.seq, SealBlock.first_id, SealBlock.last_id)
        .where(
            (SealBlock.kind == table.kind)
            & (SealBlock.last_id >= ids[0])
            & (SealBlock.first_id <= ids[-1])
        )
        .order_by(SealBlock.seq)
    )
    now = utcnow().replace(microsecond=0)
    for block in blocks:
        inside = [i for i in ids if block.first_id <= i <= block.last_id]
        if inside:
            note = PruneNote(
                kind=table.kind,
                seq=block.seq,
                ids=b"".join(PRUNED_ID.pack(i) for i in inside),
                pruned_at=now,
            )
            note.mac = note_mac(key, note)
            note.save(force_insert=True)
            clear_if_emptied(table.kind, block.seq)


def clear_if_emptied(kind, seq):
    """Clear the pairs of block ``seq`` of chain ``kind`` once its prune notes name as many
    records as it sealed: its header (and the SHA-256 of the pairs, which its MAC covers) stays,
    so the chain still verifies; the 24 bytes a record of the pairs held go."""
    block = SealBlock.get((SealBlock.kind == kind) & (SealBlock.seq == seq))
    if is_cleared(block):
        return
    notes = PruneNote.select(PruneNote.ids).where((PruneNote.kind == kind) & (PruneNote.seq == seq))
    removed = {i for note in notes for i in pruned_ids(note)}
    if len(removed) == block.count:
        SealBlock.update(pairs=b"", pairs_sha256=pairs_sha256(block)).where(
            SealBlock.id == block.id
        ).execute()


def seal_model(model, key=None):
    """Seal ``model``'s table now if it is sealed (before a prune, so what it removes was
    sealed and gets its note)."""
    table = next((t for t in sealed_tables() if t.model is model), None)
    if table is not None:
        seal(table, key)


def pruned_ids(note):
    """Return the ids a prune note names."""
    return [i for (i,) in PRUNED_ID.iter_unpack(bytes(note.ids))]
