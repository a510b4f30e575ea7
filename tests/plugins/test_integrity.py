"""Settings > Integrity, through its real routes: the seals shown, Seal now, Verify integrity
(intact, then tampering named), each verification recorded, behind the Settings gate; the
verification as a run of the task queue (run inside the POST under HUEY_IMMEDIATE): its report,
its progress, its page, an interrupted run."""

import json
from datetime import timedelta

import pytest

from core.db import database
from core.db import utcnow
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.evidence.seal import SealBlock
from core.evidence.seal import head_text
from core.evidence.seal import seal
from core.evidence.seal import sealed_tables
from core.evidence.verify import verify
from plugins.integrity import runs
from plugins.integrity import views
from plugins.integrity.runs import VerifyRun
from tests.conftest import csrf_token_of
from tests.conftest import sign_in

HTMX = {"HX-Request": "true"}
SEAL = "/stream/settings/integrity/seal"
VERIFY = "/stream/settings/integrity/verify"


# Tamper as someone who may drop the tables' triggers: only the seals can show it.
pytestmark = pytest.mark.usefixtures("guard_lifted")


def signed_in(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url, htmx=True, **form):
    """POST ``form`` to ``url`` with the session's CSRF token."""
    form["csrf_token"] = csrf_token_of(client)
    return client.post(url, data=form, headers=HTMX if htmx else {})


def record_some(app, people, count=5):
    with app.app_context():
        actor = people["admin@example.com"]
        return [
            record_activity(actor, "task.updated", Ref("task", n, "T")).id for n in range(count)
        ]


def verifications(app):
    """Return the change sets of the recorded verifications, oldest first."""
    with app.app_context():
        query = ActivityEvent.select().where(ActivityEvent.verb == "integrity.verified")
        return [json.loads(event.changes) for event in query.order_by(ActivityEvent.id)]


def test_the_section_shows_what_is_not_yet_sealed_and_seal_now_seals_it(app, people):
    record_some(app, people)
    client = signed_in(app, "admin@example.com")
    page = client.get("/stream/settings")
    assert 'id="integrity"' in page.text and "Verify integrity" in page.text
    assert '<td data-label="Not yet sealed">5 records</td>' in page.text  # the 5 events
    answer = post(client, SEAL)
    assert answer.text.count('<td data-label="Not yet sealed">0 records</td>') == 2
    assert answer.status_code == 200
    assert "new block(s) sealed" in answer.text
    with app.app_context():
        assert SealBlock.select().count() >= 1
        assert head_text("activity") in answer.text  # the head to keep elsewhere


def test_verify_says_intact_then_names_the_tampered_record_and_is_recorded(app, people):
    ids = record_some(app, people)
    client = signed_in(app, "owner@example.com")
    post(client, SEAL)
    intact = post(client, VERIFY)
    assert "Intact." in intact.text
    with app.app_context():
        database.execute_sql(
            f"UPDATE activity_event SET summary = 'rewritten' WHERE id = {database.param}",
            (ids[2],),
        )
    found = post(client, VERIFY)
    assert "Tampering found." in found.text
    assert f"field modified at record {ids[2]}" in found.text
    outcomes = [changes["outcome"][1] for changes in verifications(app)]
    assert outcomes == ["intact", "tampering found"]


def test_a_head_given_back_shows_a_cut_tail(app, people):
    ids = record_some(app, people)
    client = signed_in(app, "admin@example.com")
    post(client, SEAL)
    with app.app_context():
        head = head_text("activity")
        SealBlock.delete().execute()
        ActivityEvent.delete().where(ActivityEvent.id.in_(ids)).execute()
        ActivityAudience.delete().where(ActivityAudience.event.in_(ids)).execute()
    answer = post(client, VERIFY, heads=head)
    assert "tail truncated" in answer.text


def test_without_javascript_the_report_is_on_the_whole_settings_page(app, people):
    record_some(app, people)
    client = signed_in(app, "admin@example.com")
    answer = post(client, VERIFY, htmx=False)
    # The verification is a run now: the POST sends the browser to Settings, which shows it.
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/stream/settings#integrity")
    page = client.get(answer.headers["Location"])
    assert page.status_code == 200
    assert "<html" in page.text and "Intact." in page.text


def test_only_the_owner_and_admins_reach_it(app, people):
    for email in ("pm@example.com", "teammate@example.com", "client@example.com"):
        client = signed_in(app, email)
        assert post(client, VERIFY).status_code == 403, email
        assert post(client, SEAL).status_code == 403, email
    assert app.test_client().post(VERIFY).status_code in (302, 401)
    assert verifications(app) == []


def test_the_actions_need_the_csrf_token(app, people):
    client = signed_in(app, "admin@example.com")
    assert client.post(VERIFY, headers=HTMX).status_code in (400, 403)
    assert verifications(app) == []


# --- the verification as a run of the task queue -------------------------------------------


def run_url(run_id):
    return f"/stream/settings/integrity/runs/{run_id}"


def seal_small(app):
    """Seal both chains in blocks of 10 records, so a run verifies several blocks."""
    with app.app_context():
        for table in sealed_tables():
            seal(table, block_records=10)


def latest_run(app):
    with app.app_context():
        return runs.latest()


def test_a_run_reports_what_verify_reports_and_is_recorded_once_as_its_asker(app, people):
    record_some(app, people, 25)
    seal_small(app)
    client = signed_in(app, "admin@example.com")
    answer = post(client, VERIFY)
    assert "Intact." in answer.text and 'hx-trigger="every 1s"' not in answer.text
    run = latest_run(app)
    assert run.status == "done" and run.claim and run.started_at and run.finished_at
    with app.app_context():
        expected = json.loads(runs.report_json(verify()))
        assert run.report_data() == expected
        assert (run.records, run.blocks) == (expected["records"], expected["blocks"])
        assert expected["blocks"] >= 3 and expected["ok"]
        runs.run(run.id)  # the task delivered twice: the claim refuses it
        events = list(ActivityEvent.select().where(ActivityEvent.verb == "integrity.verified"))
    assert len(events) == 1
    assert events[0].actor_id == people["admin@example.com"].id
    assert events[0].summary == f"{expected['records']:,} records checked: intact"
    assert json.loads(events[0].changes) == {
        "outcome": [None, "intact"],
        "records": [None, expected["records"]],
        "findings": [None, []],
    }


def test_a_run_of_the_consumer_records_its_asker_not_whoever_looks(app, people):
    record_some(app, people)
    with app.app_context():
        seal_small(app)
        run = VerifyRun.create(user_id=people["owner@example.com"].id, records_total=5)
        runs.run(run.id)  # as the consumer does: no request
        event = ActivityEvent.get(ActivityEvent.verb == "integrity.verified")
        assert event.actor_id == people["owner@example.com"].id
        assert VerifyRun.get_by_id(run.id).status == "done"


def test_the_run_page_is_the_owners_and_admins_and_a_missing_run_is_404(app, people):
    record_some(app, people)
    post(signed_in(app, "admin@example.com"), VERIFY)
    run = latest_run(app)
    for email in ("pm@example.com", "teammate@example.com", "client@example.com"):
        assert signed_in(app, email).get(run_url(run.id), headers=HTMX).status_code == 403
    assert app.test_client().get(run_url(run.id)).status_code in (302, 401)
    owner = signed_in(app, "owner@example.com")
    fragment = owner.get(run_url(run.id), headers=HTMX)
    assert fragment.status_code == 200 and "Intact." in fragment.text
    assert "<html" not in fragment.text and 'id="integrity-verify"' in fragment.text
    page = owner.get(run_url(run.id))
    assert "<html" in page.text and "Intact." in page.text
    assert owner.get(run_url(run.id + 1), headers=HTMX).status_code == 404


def test_a_tampered_stores_run_shows_the_finding(app, people):
    ids = record_some(app, people, 25)
    seal_small(app)
    with app.app_context():
        database.execute_sql(
            f"UPDATE activity_event SET summary = 'rewritten' WHERE id = {database.param}",
            (ids[13],),
        )
    client = signed_in(app, "owner@example.com")
    answer = post(client, VERIFY)
    finding = f"activity: field modified at record {ids[13]}"
    assert "Tampering found." in answer.text and finding in answer.text
    run = latest_run(app)
    assert run.report_data()["ok"] is False
    assert any(line.startswith(finding) for line in run.report_data()["findings"])
    assert finding in client.get(run_url(run.id), headers=HTMX).text
    assert verifications(app)[0]["outcome"] == [None, "tampering found"]


def test_a_live_run_is_polled_and_a_second_verify_shows_it_instead(app, people):
    client = signed_in(app, "admin@example.com")
    with app.app_context():
        run = VerifyRun.create(
            user_id=people["owner@example.com"].id,
            status="running",
            records=1234,
            records_total=5000,
        )
    page = client.get("/stream/settings")
    assert "Verifying…</strong> 1,234 records checked" in page.text
    assert '<progress max="100" value="24"' in page.text
    assert f'hx-get="{run_url(run.id)}" hx-trigger="every 1s"' in page.text
    assert "Verify integrity</button>" not in page.text  # not offered while one runs
    answer = post(client, VERIFY)
    assert views.ALREADY in answer.text and "Verifying…" in answer.text
    assert latest_run(app).id == run.id and verifications(app) == []
    with app.app_context():
        VerifyRun.update(status="queued", records=0).execute()
    polled = client.get(run_url(run.id), headers=HTMX).text
    assert "0 records checked (waiting for its turn)" in polled
    assert 'hx-trigger="every 1s"' in polled


def test_an_interrupted_run_is_shown_so_and_a_new_one_can_start(app, people):
    record_some(app, people)
    client = signed_in(app, "admin@example.com")
    with app.app_context():
        lost = VerifyRun.create(
            user_id=people["owner@example.com"].id,
            status="running",
            claim="0123456789abcdef",
            records=40,
            started_at=utcnow() - timedelta(minutes=4),
            updated_at=utcnow() - timedelta(minutes=3),
        )
    page = client.get("/stream/settings")
    assert "was interrupted after 40 records" in page.text
    assert 'hx-trigger="every 1s"' not in page.text
    assert "Verify integrity</button>" in page.text  # offered again
    with app.app_context():
        assert runs.claim(lost.id) is None  # its consumer, late, may not take it back
        assert runs.sweep() == 1
        assert VerifyRun.get_by_id(lost.id).error == runs.INTERRUPTED
    assert "was interrupted after 40 records" in client.get("/stream/settings").text
    answer = post(client, VERIFY)
    assert "Intact." in answer.text
    assert latest_run(app).id != lost.id and len(verifications(app)) == 1


def test_a_run_never_taken_by_a_worker_goes_stale_too(app, people):
    with app.app_context():
        # Waiting behind other tasks for minutes, a queued run is still live.
        waiting = VerifyRun.create(
            user_id=people["admin@example.com"].id, updated_at=utcnow() - timedelta(minutes=10)
        )
        assert waiting.is_live() and runs.live_run().id == waiting.id and runs.sweep() == 0
        runs.run(waiting.id)  # its turn comes: it runs
        assert VerifyRun.get_by_id(waiting.id).status == "done"
        queued = VerifyRun.create(
            user_id=people["admin@example.com"].id, updated_at=utcnow() - timedelta(minutes=31)
        )
        runs.run(queued.id)
        assert VerifyRun.get_by_id(queued.id).status == "queued"  # not run: interrupted
        assert VerifyRun.get_by_id(queued.id).is_interrupted()
        assert runs.live_run() is None and runs.sweep() == 1
    assert len(verifications(app)) == 1  # the one that ran
    assert (
        "no task worker took it" in signed_in(app, "admin@example.com").get("/stream/settings").text
    )


def test_progress_is_written_block_by_block(app, people, monkeypatch):
    record_some(app, people, 45)
    seal_small(app)
    written = []
    original = runs.write_progress

    def spy(held, records, blocks):
        written.append((records, blocks))
        return original(held, records, blocks)

    monkeypatch.setattr(runs, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(runs, "write_progress", spy)
    post(signed_in(app, "admin@example.com"), VERIFY)
    run = latest_run(app)
    assert len(written) == run.blocks >= 5
    assert written[:5] == [(10, 1), (20, 2), (30, 3), (40, 4), (45, 5)]
    assert written[-1] == (run.records, run.blocks)
    assert run.records_total == run.records  # nothing pruned: the estimate is exact


def test_progress_is_written_at_most_once_a_second(app):
    clock = iter([0.0, 0.4, 0.9, 1.1, 1.5, 2.2]).__next__
    written = []
    progress = runs.Progress(held=None, clock=clock)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runs, "write_progress", lambda held, r, b: written.append(r) or True)
        for records in (10, 20, 30, 40, 50):
            progress(records, records // 10)
    assert written == [30, 50]


def test_a_run_swept_meanwhile_stops_and_records_nothing(app, people, monkeypatch):
    record_some(app, people, 25)
    seal_small(app)
    original = runs.write_progress
    calls = []

    def swept_first(held, records, blocks):
        calls.append(records)
        VerifyRun.update(status="failed", error=runs.INTERRUPTED).execute()
        return original(held, records, blocks)

    monkeypatch.setattr(runs, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(runs, "write_progress", swept_first)
    answer = post(signed_in(app, "admin@example.com"), VERIFY)
    assert "was interrupted" in answer.text
    run = latest_run(app)
    assert (run.status, run.records, run.report) == ("failed", 0, None)
    assert calls == [10]  # it stopped at its first write, its claim gone
    assert verifications(app) == []


def test_a_run_whose_asker_lost_settings_fails_unrecorded(app, people):
    record_some(app, people)
    with app.app_context():
        run = VerifyRun.create(user_id=people["pm@example.com"].id)
        runs.run(run.id)
        run = VerifyRun.get_by_id(run.id)
    assert run.status == "failed" and "no longer" in run.error
    assert verifications(app) == []


def test_a_run_swept_just_before_it_finishes_records_nothing(app, people, monkeypatch):
    record_some(app, people)

    def swept_at_the_end(heads, progress):
        report = verify(heads)
        VerifyRun.update(status="failed", error=runs.INTERRUPTED).execute()
        return report

    monkeypatch.setattr(runs, "verify", swept_at_the_end)
    post(signed_in(app, "admin@example.com"), VERIFY)
    assert (latest_run(app).status, latest_run(app).report) == ("failed", None)
    assert verifications(app) == []
