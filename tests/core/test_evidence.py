"""Sealing and verification (core.evidence): an untouched store verifies; each kind of
tampering is found and named at its first bad record; a record committing late on PostgreSQL
is never passed over; the commands' exit status."""

import threading

import pytest

from core.auth.signins import SignInAttempt
from core.db import database
from core.db import is_sqlite
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import SealBlock
from core.evidence.seal import block_mac
from core.evidence.seal import digests
from core.evidence.seal import event_audiences
from core.evidence.seal import head_text
from core.evidence.seal import personal_hasher
from core.evidence.seal import record_digest
from core.evidence.seal import seal
from core.evidence.seal import seal_all
from core.evidence.seal import sealed_tables
from core.evidence.verify import verify
from core.people import User
from core.testing import PASSWORD
from core.testing import sign_in
from tests.threads import Worker

KEY = b"k" * 32


# Tamper as someone who may drop the tables' triggers: only the seals can show it.
pytestmark = pytest.mark.usefixtures("guard_lifted")


@pytest.fixture
def store(app, people):
    """Record 25 events and seal them in blocks of 10 (three blocks); yield the event ids."""
    with app.app_context():
        actor = people["admin@example.com"]
        ids = [
            record_activity(actor, "task.updated", Ref("task", n, f"Task {n}")).id
            for n in range(25)
        ]
        table = activity_chain()
        assert len(seal(table, KEY, block_records=10)) == 3
        yield ids


def activity_chain():
    """Return the event store's sealed table."""
    return next(t for t in sealed_tables() if t.kind == "activity")


def findings(app, heads=()):
    """Return ``{kind: where}`` of what verification finds."""
    with app.app_context():
        report = verify(heads, key=KEY)
        return {finding.kind: finding.where for finding in report.findings}


def raw(app, sql, params=()):
    """Run ``sql`` on the database behind the app's back (as someone with database access)."""
    with app.app_context():
        sql = sql.replace("?", database.param)
        database.execute_sql(sql, params)


def test_an_untouched_store_verifies(app, store):
    with app.app_context():
        report = verify(key=KEY)
        assert report.ok, [f.text() for f in report.findings]
        assert report.records == 25 and report.blocks == 3
        assert report.heads["activity"] == head_text("activity")


def test_sealing_again_seals_only_what_is_new(app, people, store):
    with app.app_context():
        table = activity_chain()
        assert seal(table, KEY, block_records=10) == []
        record_activity(people["admin@example.com"], "task.created", Ref("task", 99, "New"))
        (block,) = seal(table, KEY, block_records=10)
        assert (block.seq, block.first_id, block.count) == (4, store[-1] + 1, 1)
        assert verify(key=KEY).ok


def test_a_field_modified_is_found_at_its_record(app, store):
    raw(app, "UPDATE activity_event SET summary = 'nothing happened' WHERE id = ?", (store[12],))
    assert findings(app) == {"field modified": f"record {store[12]}"}


def test_an_audience_changed_is_found_at_its_record(app, people, store):
    with app.app_context():
        ActivityAudience.insert(event=store[3], party=999).execute()
    assert findings(app) == {"field modified": f"record {store[3]}"}


def test_a_row_deleted_is_found(app, store):
    raw(app, "DELETE FROM activity_event WHERE id = ?", (store[17],))
    assert findings(app) == {"row deleted": f"record {store[17]}"}


def test_a_row_inserted_in_a_sealed_range_is_found(app, people):
    with app.app_context():
        actor = people["admin@example.com"]
        ids = [record_activity(actor, "task.updated", Ref("task", n, "T")).id for n in range(6)]
        gone = ActivityEvent.get_by_id(ids[2])
        gone.delete_instance()  # an id never committed (a rolled back insert leaves such gaps)
        table = activity_chain()
        seal(table, KEY)
        assert verify(key=KEY).ok
        ActivityEvent.insert(dict(gone.__data__, summary="slipped in")).execute()
    assert findings(app) == {"row inserted": f"record {ids[2]}"}


def test_rows_reordered_are_found(app, store):
    a, b = store[20], store[21]
    with app.app_context():
        first, second = ActivityEvent.get_by_id(a), ActivityEvent.get_by_id(b)
        ActivityEvent.delete().where(ActivityEvent.id.in_([a, b])).execute()
        ActivityEvent.insert_many(
            [dict(first.__data__, id=b), dict(second.__data__, id=a)]
        ).execute()
    assert findings(app) == {"rows reordered": f"record {a}"}


def test_a_block_header_changed_is_found(app, store):
    raw(app, "UPDATE seal_block SET count = count + 1 WHERE seq = 2")
    assert findings(app) == {"block header changed": "block 2"}


def test_a_block_removed_from_the_chain_is_found(app, store):
    raw(app, "DELETE FROM seal_block WHERE seq = 2")
    found = findings(app)
    assert found["block header changed"] == "block 3"


def test_a_resealed_block_without_the_key_is_found(app, store):
    with app.app_context():
        block = SealBlock.get(SealBlock.seq == 1)
        block.last_id -= 1
        block.mac = "0" * 64
        block.save()
    assert "block header changed" in findings(app)


def test_a_truncated_tail_is_found_against_a_head_kept_elsewhere(app, store):
    with app.app_context():
        head = head_text("activity")
    assert findings(app, [head]) == {}
    raw(app, "DELETE FROM seal_block WHERE seq = 3")
    raw(app, "DELETE FROM activity_event WHERE id >= ?", (store[20],))
    assert findings(app) == {}  # without the head, a cut tail looks like a shorter store
    assert findings(app, [head]) == {"tail truncated": "block 3"}


def test_another_key_verifies_nothing(app, store):
    with app.app_context():
        report = verify(key=b"another key, not the sealer's")
    assert not report.ok


def test_the_verify_command_exits_1_naming_the_first_bad_record(app, store):
    raw(app, "UPDATE activity_event SET actor_name = 'Someone Else' WHERE id = ?", (store[4],))
    app.config["SEAL_KEY"] = KEY.decode()
    result = app.test_cli_runner().invoke(args=["stream", "verify"])
    assert result.exit_code == 1
    assert f"field modified at record {store[4]}" in result.stderr


def test_the_seal_command_prints_the_head(app, people):
    with app.app_context():
        record_activity(people["admin@example.com"], "task.created", Ref("task", 1, "One"))
    result = app.test_cli_runner().invoke(args=["stream", "seal"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert f"head {head_text('activity')}" in result.output
    result = app.test_cli_runner().invoke(args=["stream", "verify"])
    assert result.exit_code == 0, result.output


def test_seal_all_reads_the_key_from_the_instance_folder_once(app, people, tmp_path):
    with app.app_context():
        record_activity(people["admin@example.com"], "task.created", Ref("task", 1, "One"))
        assert seal_all() == {"activity": 1, "logins": 0}
        assert verify().ok
        assert not verify(key=KEY).ok


def test_a_late_commit_with_a_lower_id_is_sealed_not_passed_over(app, people):
    """PostgreSQL: a writer holds a low id open while a later one commits a higher id. The
    seal stops below the open writer; once it commits, the next seal takes both."""
    with app.app_context():
        if is_sqlite():
            pytest.skip("SQLite commits ids in order: writers wait for each other")
    admin_id = people["admin@example.com"].id
    allocated, release = threading.Event(), threading.Event()

    def slow_writer():
        with app.app_context():
            admin = User.get_by_id(admin_id)
            with database.atomic():
                record_activity(admin, "task.created", Ref("task", 1, "Slow"))
                allocated.set()
                release.wait(5)
        database.close()

    slow = Worker(slow_writer, "slow")
    slow.start()
    assert allocated.wait(5)
    with app.app_context():
        quick = record_activity(User.get_by_id(admin_id), "task.created", Ref("task", 2, "Quick"))
        table = activity_chain()
        assert seal(table, KEY) == []  # the open writer's id is below "Quick": wait for it
    release.set()
    slow.finish(10)
    with app.app_context():
        (block,) = seal(table, KEY)
        assert block.last_id == quick.id and block.count == 2
        assert verify(key=KEY).ok
        database.close()


def test_a_tail_cut_and_sealed_again_is_found_against_the_head(app, people, store):
    with app.app_context():
        head = head_text("activity")
    raw(app, "DELETE FROM seal_block WHERE seq = 3")
    raw(app, "DELETE FROM activity_event WHERE id >= ?", (store[20],))
    raw(app, "DELETE FROM activity_audience WHERE event_id >= ?", (store[20],))
    with app.app_context():
        record_activity(people["admin@example.com"], "task.created", Ref("task", 1, "Other"))
        table = activity_chain()
        (block,) = seal(table, KEY)
        assert block.seq == 3  # a block 3 again, sealing other records
    assert findings(app) == {}
    assert findings(app, [head]) == {"tail truncated": "block 3"}


def forge(app, which, **changes):
    """Change block ``which`` and give it a valid MAC, as someone holding the key could."""
    with app.app_context():
        block = SealBlock.get(SealBlock.seq == which)
        for name, value in changes.items():
            setattr(block, name, value)
        block.mac = block_mac(KEY, block)
        block.save()


def test_a_block_header_edited_without_the_key_fails_its_mac(app, store):
    raw(app, "UPDATE seal_block SET previous_mac = 'x' WHERE seq = 2")
    with app.app_context():
        (finding,) = verify(key=KEY).findings
    assert finding.where == "block 2" and "MAC" in finding.detail


def test_each_block_must_name_the_previous_blocks_mac(app, store):
    forge(app, 2, previous_mac="0" * 64)
    with app.app_context():
        (finding,) = verify(key=KEY).findings
    assert (finding.where, finding.detail) == ("block 2", "it does not follow the previous block")


def test_blocks_must_follow_each_other_by_number_and_id_range(app, store):
    forge(app, 3, seq=4)
    with app.app_context():
        (finding,) = verify(key=KEY).findings
    assert finding.where == "block 4" and finding.detail.startswith("expected block 3")


def test_the_sign_in_log_is_sealed_and_a_changed_outcome_found(app, people):
    client = app.test_client()
    for password in ("wrong-password", PASSWORD):
        sign_in(client, "pm@example.com", password)
    with app.app_context():
        logins = next(t for t in sealed_tables() if t.kind == "logins")
        (block,) = seal(logins, KEY)
        assert block.count >= 2
        failed = SignInAttempt.select().where(SignInAttempt.outcome != "success").first()
        assert verify(key=KEY).ok
    raw(app, "UPDATE sign_in_attempt SET outcome = 'success' WHERE id = ?", (failed.id,))
    with app.app_context():
        (finding,) = verify(key=KEY).findings
    assert (finding.chain, finding.kind) == ("logins", "field modified")
    assert finding.where == f"record {failed.id}"


def test_the_digest_commits_to_a_keyed_hash_of_each_personal_field_not_its_value(app, store):
    """What lets a person's data be replaced by a pseudonym later without breaking the seals:
    the digest never needs the raw value, only its keyed hash."""
    with app.app_context():
        table = activity_chain()
        event = ActivityEvent.get_by_id(store[0])
        names = [field.name for field in ActivityEvent._meta.sorted_fields[1:]]
        raw_values = [getattr(event, name) for name in names]
        hash_value = personal_hasher(KEY)
        hashed = [
            hash_value(value) if name in table.personal else value
            for name, value in zip(names, raw_values, strict=True)
        ]
        belonging = event_audiences([event.id]).get(event.id)
        ((_, sealed),) = digests(KEY, table, event.id, event.id)
        assert sealed == record_digest(KEY, hashed, belonging)
        assert sealed != record_digest(KEY, raw_values, belonging)
        assert "actor_name" in table.personal and "ip" in table.personal
