"""Replacing personal values in sealed records, and still verifying.

A record's digest commits to a keyed hash of each personal column (``personal_hasher``), not to
the value. ``replace_values`` changes such columns (a person pseudonymised) in the caller's
transaction, under the guard's ``PSEUDONYMISE`` permit, and writes for each record a note of
the replaced columns: ``{column: [hash of the value replaced, hash of the new value]}``, MACed
with the seal key. Digesting a record (sealing and verifying alike) then reads a column whose
current hash is the note's new hash as its original hash: the seal still verifies, and no
copy of the replaced value is kept anywhere.

What it shows: a replaced value changed again behind the app's back (its hash is no longer
the note's), a note written or edited without the key (its MAC fails: the note is ignored,
so the record reads as modified), a note whose chain of replacements breaks. What it allows
by design: only the columns a sealed table declares ``personal``; only by whoever holds the key
and the permit.

A record read while a replacement commits may show its old value with the new note: its old
value's hash is the note's original one, and is read as such (no false alarm).
"""

import json

import peewee

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.evidence import guard
from core.evidence.seal import canonical
from core.evidence.seal import personal_hasher
from core.evidence.seal import seal_key
from core.evidence.seal import sealed_tables
from core.evidence.seal import tagged_mac


class ReplaceNote(BaseModel):
    """The hashes of the personal values replaced in record ``record_id`` of chain ``kind``:
    ``changes`` is JSON ``{column: [hash before, hash after]}``; ``mac`` is keyed."""

    kind = peewee.CharField(max_length=40)
    record_id = peewee.BigIntegerField()
    changes = peewee.TextField()
    noted_at = peewee.DateTimeField(default=utcnow)
    mac = peewee.CharField(max_length=64)

    class Meta:
        table_name = "seal_replace_note"
        indexes = ((("kind", "record_id"), False),)


MODELS = [ReplaceNote]


def replace_note_mac(key, note):
    """Return the MAC of a replacement note (hex)."""
    parts = [note.kind, str(note.record_id), note.changes, canonical(note.noted_at)]
    return tagged_mac(key, "replace", parts)


def sealed_table_of(model):
    """Return the ``SealedTable`` of ``model``, or None when it is not sealed."""
    return next((t for t in sealed_tables() if t.model is model), None)


def replace_values(model, new_values, key=None):
    """In the caller's transaction, set ``new_values`` (``{record id: {column: value}}``) on
    ``model``'s records: for a sealed table only its personal columns, each replacement noted
    (``ReplaceNote``). Return how many records changed. Records already as asked are left."""
    if not database.in_transaction():
        raise RuntimeError("replace_values runs inside the caller's transaction")
    table = sealed_table_of(model)
    columns = sorted({name for values in new_values.values() for name in values})
    if table is not None:
        refused = [name for name in columns if name not in table.personal]
        if refused:
            raise ValueError(f"{', '.join(refused)}: not a personal column of {table.kind}")
    if not new_values:
        return 0
    key = key or seal_key()
    hash_value = personal_hasher(key)
    fields = [model._meta.fields[name] for name in columns]
    current = {
        row[0]: dict(zip(columns, row[1:], strict=True))
        for row in model.select(model.id, *fields).where(model.id.in_(list(new_values))).tuples()
    }
    changed = 0
    now = utcnow().replace(microsecond=0)
    with guard.permit(guard.PSEUDONYMISE):
        for record_id, values in sorted(new_values.items()):
            before = current.get(record_id)
            if before is None:
                continue
            values = {name: value for name, value in values.items() if before[name] != value}
            if not values:
                continue
            model.update(values).where(model.id == record_id).execute()
            changed += 1
            if table is None:
                continue
            noted = {
                name: [hash_value(before[name]), hash_value(value)]
                for name, value in sorted(values.items())
            }
            note = ReplaceNote(
                kind=table.kind,
                record_id=record_id,
                changes=json.dumps(noted, sort_keys=True, separators=(",", ":")),
                noted_at=now,
            )
            note.mac = replace_note_mac(key, note)
            note.save(force_insert=True)
    return changed


def original_hashes(key, kind, first_id, last_id):
    """Return ``{record id: {column: (original hash, hashes read as it)}}`` from the valid
    notes of chain ``kind`` on ids ``first_id``..``last_id``. A note whose MAC fails is left
    out, and so is a column whose notes do not chain (each one's "before" the previous
    one's "after"): the record then reads as modified."""
    notes = (
        ReplaceNote.select()
        .where((ReplaceNote.kind == kind) & ReplaceNote.record_id.between(first_id, last_id))
        .order_by(ReplaceNote.id)
    )
    chains = {}
    for note in notes:
        if replace_note_mac(key, note) != note.mac:
            continue
        for column, pair in json.loads(note.changes).items():
            chains.setdefault(note.record_id, {}).setdefault(column, []).append(pair)
    found = {}
    for record_id, columns in chains.items():
        for column, pairs in columns.items():
            if any(pairs[i + 1][0] != pairs[i][1] for i in range(len(pairs) - 1)):
                continue
            accepted = {pairs[0][0], *(after for _, after in pairs)}
            found.setdefault(record_id, {})[column] = (pairs[0][0], accepted)
    return found
