"""Retention and the seals together: a prune leaves a MACed note per sealed block, so the
record still verifies after it; a deletion outside the prune, a forged note, or a pruned
record put back are still found."""

import pytest

from core.db import database
from core.events import ActivityEvent
from core.evidence.seal import PruneNote
from core.evidence.seal import SealBlock
from core.evidence.seal import seal_all
from core.evidence.verify import verify
from tests.core.test_retention import ids_of
from tests.core.test_retention import keep
from tests.core.test_retention import prune

# Old and new records of every tab, written by their real writers (a fixture, here ``_stream``).
from tests.core.test_retention import stream as _stream  # noqa: F401


@pytest.fixture
def app(make_app):
    """Every plugin: each list tab keeps records to prune."""
    return make_app(PLUGINS_DISABLED="")


# Tamper as someone who may drop the tables' triggers: only the seals can show it.
pytestmark = pytest.mark.usefixtures("guard_lifted")


@pytest.fixture
def pruned(app, people, request):
    """Seal every record, keep 30 days on Activity and Logins, prune; return the stream."""
    stream = request.getfixturevalue("_stream")
    with app.app_context():
        seal_all()
    keep(app, people, "activity", 30)
    keep(app, people, "logins", 30)
    removed = prune(app)
    assert removed["activity"] == len(stream["old"]["activity"]) > 0
    assert removed["logins"] == len(stream["old"]["logins"]) > 0
    return stream


def report(app):
    with app.app_context():
        return verify()


def test_the_record_still_verifies_after_a_prune(app, pruned):
    found = report(app)
    assert found.ok, [f.text() for f in found.findings]
    assert found.pruned == len(pruned["old"]["activity"]) + len(pruned["old"]["logins"])
    with app.app_context():
        assert PruneNote.select().count() >= 2  # one per chain and block at least


def test_unsealed_records_are_sealed_before_the_prune_so_each_has_its_note(app, people, request):
    request.getfixturevalue("_stream")
    keep(app, people, "activity", 30)
    prune(app)  # nothing was sealed before: the prune seals first
    with app.app_context():
        assert SealBlock.select().where(SealBlock.kind == "activity").count() >= 1
    assert report(app).ok


def test_a_deletion_outside_the_prune_is_still_found(app, pruned):
    victim = min(ids_of(app, ActivityEvent))
    with app.app_context():
        database.execute_sql(f"DELETE FROM activity_event WHERE id = {database.param}", (victim,))
    (finding,) = report(app).findings
    assert (finding.kind, finding.where) == ("row deleted", f"record {victim}")


def test_a_prune_note_written_without_the_key_is_found(app, pruned):
    victim = min(ids_of(app, ActivityEvent))
    with app.app_context():
        note = PruneNote.select().where(PruneNote.kind == "activity").first()
        ids = bytes(note.ids) + victim.to_bytes(8, "big", signed=True)
        PruneNote.update(ids=ids).where(PruneNote.id == note.id).execute()
        database.execute_sql(f"DELETE FROM activity_event WHERE id = {database.param}", (victim,))
    kinds = {(f.kind, f.where.split()[0]) for f in report(app).findings}
    assert ("block header changed", "block") in kinds
    assert ("row deleted", "record") in kinds  # the forged note excuses nothing


def test_a_pruned_record_put_back_is_found(app, pruned):
    gone = min(pruned["old"]["activity"])
    kept = min(ids_of(app, ActivityEvent))
    with app.app_context():
        row = ActivityEvent.get_by_id(kept)
        ActivityEvent.insert(dict(row.__data__, id=gone)).execute()
    (finding,) = report(app).findings
    assert (finding.kind, finding.where) == ("row inserted", f"record {gone}")


KEY = b"c" * 32


@pytest.fixture
def two_blocks(app, people):
    """Record 20 events sealed in two blocks of 10; return their ids."""
    from core.events import Ref
    from core.events import record_activity
    from core.evidence.seal import seal
    from core.evidence.seal import sealed_tables

    with app.app_context():
        actor = people["admin@example.com"]
        events = [record_activity(actor, "task.updated", Ref("task", n, "T")) for n in range(20)]
        table = next(t for t in sealed_tables() if t.kind == "activity")
        assert len(seal(table, KEY, block_records=10)) == 2
    return [event.id for event in events]


def prune_ids(app, ids):
    """Remove ``ids`` as retention does: their notes, then the rows under the permit."""
    from core.events import ActivityAudience
    from core.evidence import guard
    from core.evidence.seal import note_pruned

    with app.app_context(), database.atomic():
        note_pruned(ActivityEvent, ids, key=KEY)
        with guard.permit():
            ActivityAudience.delete().where(ActivityAudience.event.in_(ids)).execute()
            ActivityEvent.delete().where(ActivityEvent.id.in_(ids)).execute()


def block(app, seq):
    with app.app_context():
        return SealBlock.get((SealBlock.kind == "activity") & (SealBlock.seq == seq))


def test_a_block_whose_records_are_all_pruned_keeps_its_header_only(app, two_blocks):
    prune_ids(app, two_blocks[:4])
    assert len(bytes(block(app, 1).pairs)) == 10 * 24  # partly pruned: every pair stays
    prune_ids(app, two_blocks[4:10])
    first = block(app, 1)
    assert bytes(first.pairs) == b"" and len(first.pairs_sha256) == 64
    assert len(bytes(block(app, 2).pairs)) == 10 * 24
    with app.app_context():
        found = verify(key=KEY)
    assert found.ok, [f.text() for f in found.findings]
    assert found.pruned == 10


def test_a_record_put_back_in_a_cleared_block_is_found(app, two_blocks):
    prune_ids(app, two_blocks[:10])
    with app.app_context():
        database.execute_sql(
            "INSERT INTO activity_event (id, occurred_at, actor_name, actor_role, verb, action,"
            " object_type, object_id, object_label, summary) VALUES"
            f" ({two_blocks[3]}, '2026-01-01 00:00:00', 'X', '', 'task.updated', 'updated',"
            " 'task', '1', 'T', '')"
        )
        kinds = {(f.kind, f.where) for f in verify(key=KEY).findings}
    assert kinds == {("row inserted", f"record {two_blocks[3]}")}


def test_pairs_cleared_behind_the_apps_back_are_found(app, two_blocks):
    import hashlib

    second = block(app, 2)
    digest = hashlib.sha256(bytes(second.pairs)).hexdigest()
    with app.app_context():
        SealBlock.update(pairs=b"", pairs_sha256=digest).where(SealBlock.id == second.id).execute()
        kinds = {f.kind for f in verify(key=KEY).findings}
    assert kinds == {"row deleted", "row inserted"}  # no notes name them, and they are there


def test_a_kept_pairs_hash_does_not_cover_edited_pairs(app, two_blocks):
    import hashlib

    second = block(app, 2)
    pairs = bytes(second.pairs)
    digest = hashlib.sha256(pairs).hexdigest()
    with app.app_context():
        # A record deleted and its pair cut out, the old hash kept beside: the header shows it.
        SealBlock.update(pairs=pairs[24:], pairs_sha256=digest).where(
            SealBlock.id == second.id
        ).execute()
        ActivityEvent.delete().where(ActivityEvent.id == two_blocks[10]).execute()
        kinds = {f.kind for f in verify(key=KEY).findings}
    assert "block header changed" in kinds
