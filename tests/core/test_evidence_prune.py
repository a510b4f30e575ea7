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
