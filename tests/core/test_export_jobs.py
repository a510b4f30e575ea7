"""Large exports prepared in the background (core.listing.export_jobs, export_pages): the offer
page, the job and its progress, the same rows as the streamed export, the file its asker's
alone and only while the tab is theirs, the link's expiry, the run lost and taken over."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest

from core.db import database
from core.events import ActivityEvent
from core.listing import export_jobs
from core.listing.export_jobs import ExportChunk
from core.listing.export_jobs import ExportJob
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.tabs import get_tab
from core.testing import csrf_token_of
from core.testing import rows_seen_by
from plugins.settings.changes import set_scope
from plugins.settings.models import TabGrant
from tests.core.test_export import seed_activity
from tests.core.test_export import signed_in

THRESHOLD = 5  # rows above which an export is prepared in the background, here


@pytest.fixture
def app(make_app):
    """Every plugin, a low background threshold, small batches (several chunks per file)."""
    return make_app(PLUGINS_DISABLED="", EXPORT_BACKGROUND_ROWS=THRESHOLD, EXPORT_BATCH_ROWS=4)


def ungrant_project_managers():
    """Take the Activity tab from Project Managers (in an app context)."""
    pm_role = Role.get(Role.name == "Project Manager")
    TabGrant.delete().where((TabGrant.tab == "activity") & (TabGrant.role == pm_role)).execute()


def new_job(email):
    """Create an unfiltered CSV job of the Activity tab for ``email``, not yet run (in an app
    context)."""
    person = User.get(User.email == email)
    access = export_jobs.access_of(person, "activity")
    return ExportJob.create(
        user_id=person.id, tab="activity", fmt="csv", args="", access=access, file_name="a.csv"
    )


def join_a_team(email):
    """Make ``email`` a member of a team they are not in (in an app context)."""
    person = User.get(User.email == email)
    team = Team.select().where(Team.id.not_in(person.team_ids())).first()
    TeamMembership.create(team=team, user=person)


def prepare(client, tab="activity", fmt="csv", **filters):
    """Ask for an export through the offer page's form; return the job page's response."""
    offer = client.get(f"/stream/{tab}/export", query_string={"format": fmt, **filters})
    assert offer.status_code == 200, offer.text
    assert "Prepare the export" in offer.text
    form = {"csrf_token": csrf_token_of(client), "format": fmt, **filters}
    started = client.post(f"/stream/{tab}/exports", data=form)
    assert started.status_code == 303, started.text
    return client.get(started.headers["Location"])


def job_id_of(page):
    """Return the job id the job page links to."""
    return int(re.search(r"/exports/(\d+)", page.text).group(1))


def file_of(client, job_id, tab="activity"):
    """Return the response of the job's file."""
    return client.get(f"/stream/{tab}/exports/{job_id}/file")


def csv_ids(response):
    text = response.data.decode("utf-8-sig")
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(text, newline=""))]


@pytest.mark.parametrize(
    ("email", "filters"),
    [
        ("admin@example.com", {}),
        ("admin@example.com", {"q": "action:commented"}),
        ("sales@example.com", {}),  # related scope: fewer rows
    ],
)
def test_a_prepared_export_holds_exactly_the_panels_rows(app, people, email, filters):
    seed_activity(app, people)
    client = signed_in(app, email)
    seen = rows_seen_by(app, email, "activity", **filters)
    assert len(seen) > THRESHOLD
    page = prepare(client, **filters)
    assert "Ready:" in page.text  # the queue runs at once in the tests
    response = file_of(client, job_id_of(page))
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="activity-')
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert csv_ids(response) == seen
    with app.app_context():
        job = ExportJob.get_by_id(job_id_of(page))
        assert job.rows_done == job.rows_total == len(seen)
        assert ExportChunk.select().where(ExportChunk.job_id == job.id).count() > 1


def test_json_lines_too_and_the_export_is_recorded_once(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    page = prepare(client, fmt="jsonl", q="action:commented")
    response = file_of(client, job_id_of(page))
    assert response.mimetype == "application/x-ndjson"
    lines = response.text.splitlines()
    assert len(lines) == 8
    with app.app_context():
        records = list(ActivityEvent.select().where(ActivityEvent.verb == "tab.exported"))
        assert len(records) == 1
        changes = json.loads(records[0].changes)
        assert changes["rows"] == [None, 8]
        assert changes["query"] == [None, "action:commented"]
        assert changes["outcome"] == [None, "complete"]


def test_a_small_export_is_still_streamed_at_once(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    response = client.get("/stream/activity/export", query_string={"q": "Task 3"})
    assert response.status_code == 200
    assert len(csv_ids(response)) <= THRESHOLD
    with app.app_context():
        assert ExportJob.select().count() == 0


def test_the_offer_page_changes_nothing(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    client.get("/stream/activity/export")
    with app.app_context():
        assert ExportJob.select().count() == 0


def test_another_persons_export_is_a_404_even_to_an_admin(app, people):
    seed_activity(app, people)
    owner_page = prepare(signed_in(app, "pm@example.com"))
    job_id = job_id_of(owner_page)
    admin = signed_in(app, "admin@example.com")
    assert admin.get(f"/stream/activity/exports/{job_id}").status_code == 404
    assert file_of(admin, job_id).status_code == 404
    assert file_of(signed_in(app, "pm@example.com"), job_id).status_code == 200


def test_a_viewer_who_loses_the_tab_loses_the_file(app, people):
    seed_activity(app, people)
    client = signed_in(app, "pm@example.com")
    job_id = job_id_of(prepare(client))
    with app.app_context():
        ungrant_project_managers()
    assert file_of(client, job_id).status_code in (403, 404)


def test_a_job_whose_asker_lost_the_tab_before_it_ran_fails(app, people):
    seed_activity(app, people)
    with app.app_context():
        job = new_job("pm@example.com")
        ungrant_project_managers()
        export_jobs.run(job.id)
        job = ExportJob.get_by_id(job.id)
        assert job.state == "failed"
        assert ExportChunk.select().where(ExportChunk.job_id == job.id).count() == 0


def test_the_link_expires_and_the_sweep_deletes_the_file(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    job_id = job_id_of(prepare(client))
    with app.app_context():
        job = ExportJob.get_by_id(job_id)
        later = job.expires_at + timedelta(seconds=1)
        assert export_jobs.sweep(now=job.expires_at - timedelta(seconds=1)) == []
        assert ExportChunk.select().where(ExportChunk.job_id == job_id).count() > 0
        export_jobs.sweep(now=later)
        assert ExportJob.get_by_id(job_id).state == "expired"
        assert ExportChunk.select().where(ExportChunk.job_id == job_id).count() == 0
    assert file_of(client, job_id).status_code == 410
    assert "expired" in client.get(f"/stream/activity/exports/{job_id}").text


def test_a_lost_run_is_taken_over_and_its_late_writes_refused(app, people):
    seed_activity(app, people)
    with app.app_context():
        job = new_job("admin@example.com")
        first = export_jobs._claim(job.id)
        assert first is not None
        assert export_jobs._claim(job.id) is None  # held, and fresh: no second run
        assert export_jobs.sweep() == []
        stale = export_jobs.utcnow() - timedelta(seconds=export_jobs.STALE_SECONDS + 1)
        ExportJob.update(heartbeat_at=stale).where(ExportJob.id == job.id).execute()
        assert export_jobs.sweep() == [job.id]  # found lost: run again
        export_jobs.run(job.id)
        done = ExportJob.get_by_id(job.id)
        assert done.state == "done"
        assert done.run != first
        # The first run, still alive, may no longer write: its token no longer holds the job.
        chunks = ExportChunk.select().where(ExportChunk.job_id == job.id).count()
        assert not export_jobs.write_chunk(job.id, first, chunks, b"late", 1, 4)
        assert ExportChunk.select().where(ExportChunk.job_id == job.id).count() == chunks
        assert ExportJob.get_by_id(job.id).rows_done == done.rows_done


def test_a_refused_filter_in_the_form_is_a_400_and_no_job(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    client.get("/stream/activity/export")
    form = {"csrf_token": csrf_token_of(client), "format": "csv", "q": "created:>nonsense"}
    assert client.post("/stream/activity/exports", data=form).status_code == 400
    form.update(q="", format="xlsx")
    assert client.post("/stream/activity/exports", data=form).status_code == 400
    with app.app_context():
        assert ExportJob.select().count() == 0


def test_the_form_needs_its_csrf_token(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    response = client.post("/stream/activity/exports", data={"format": "csv"})
    assert response.status_code in (400, 403)
    with app.app_context(), database.connection_context():
        assert ExportJob.select().count() == 0


def widen_salespeoples_scope(people):
    """Let Salespeople see every row of the Activity tab (in a request context)."""
    role = Role.get(Role.name == "Salesperson")
    set_scope(people["owner@example.com"], get_tab("activity"), role, "all")


@pytest.mark.parametrize("change", ["team", "scope"])
def test_a_file_is_not_downloaded_once_its_askers_access_changed(app, people, change):
    """Prepared under one row scope and set of teams, a file may hold rows its asker may no
    longer see: after a change it is refused (403), and asked again it is theirs."""
    seed_activity(app, people)
    client = signed_in(app, "sales@example.com")
    job_id = job_id_of(prepare(client))
    assert file_of(client, job_id).status_code == 200
    with app.test_request_context():
        if change == "team":
            join_a_team("sales@example.com")
        else:
            widen_salespeoples_scope(people)
    refused = file_of(client, job_id)
    assert refused.status_code == 403 and "changed" in refused.text
    page = client.get(f"/stream/activity/exports/{job_id}").text
    assert "changed" in page and f"/exports/{job_id}/file" not in page
    again = job_id_of(prepare(client))
    assert file_of(client, again).status_code == 200


def test_a_job_whose_askers_access_changed_before_it_ran_fails(app, people):
    seed_activity(app, people)
    with app.app_context():
        job = new_job("sales@example.com")
        join_a_team("sales@example.com")
        export_jobs.run(job.id)
        job = ExportJob.get_by_id(job.id)
        assert job.state == "failed" and job.error == export_jobs.CHANGED
        assert ExportChunk.select().where(ExportChunk.job_id == job.id).count() == 0


def test_the_file_is_read_back_whole_and_in_order_a_few_chunks_at_a_time(app, people):
    seed_activity(app, people)
    client = signed_in(app, "admin@example.com")
    job_id = job_id_of(prepare(client))
    with app.app_context():
        job = ExportJob.get_by_id(job_id)
        chunks = ExportChunk.select().where(ExportChunk.job_id == job_id).count()
        assert chunks >= 5
        whole = b"".join(export_jobs.chunks_of(job, per_query=chunks + 1))
        for per_query in (1, 2, 3):
            assert b"".join(export_jobs.chunks_of(job, per_query=per_query)) == whole
    assert file_of(client, job_id).data == whole
