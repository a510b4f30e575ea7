"""The Activity tab: recorder atomicity and enrichment, change capture, queries, scope, paging."""

import json
import re
import threading

import peewee
import pytest
from werkzeug.datastructures import MultiDict

from core import hookimpl
from core import migrations
from core.db import database
from core.db import is_sqlite
from core.events import MASK
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Audience
from core.events import RecordError
from core.events import Ref
from core.events import build_entry
from core.events import diff
from core.events import record_activity
from core.events import record_entries
from core.evidence import guard
from core.listing.feed import parse_cursor
from core.migrations import SchemaMigration
from core.people import Role
from core.people import Team
from core.people import User
from core.search.index import catch_up_now
from plugins.activity.filters import parse_filters
from plugins.activity.queries import visible_events
from plugins.settings.models import TabGrant
from tests.conftest import sign_in
from tests.threads import Worker

ROW_ID = re.compile(r'data-row-id="(\d+)"')


def row_ids(html):
    """Return the event ids of the rows in ``html``, in order."""
    return [int(value) for value in ROW_ID.findall(html)]


def grant_activity(role_name):
    """Grant the Activity tab to every member of ``role_name``."""
    TabGrant.create(tab="activity", role=Role.get(Role.name == role_name))


def rename_team(actor, team, name):
    """A tiny service function: rename a team and record it in the same transaction."""
    with database.atomic():
        old = team.name
        team.name = name
        team.save()
        record_activity(
            actor, "team.updated", Ref("team", team.id, name), changes={"name": [old, name]}
        )


def team_names():
    """Return ``{team id: name}`` as committed."""
    return {team.id: team.name for team in Team.select()}


def assert_nothing_written(teams_before):
    """Assert a failed change left the teams as they were, and no event or audience row."""
    assert team_names() == teams_before
    assert ActivityEvent.select().count() == 0
    assert ActivityAudience.select().count() == 0


class TestRecorder:
    def test_event_copies_names_and_audience(self, app, people):
        admin, dana = people["admin@example.com"], people["teammate@example.com"]
        with app.app_context():
            event = record_activity(
                admin,
                "task.created",
                Ref("task", 7, "Q3 report"),
                audience=Audience(users={dana.id}),
            )
            stored = ActivityEvent.get_by_id(event.id)
            assert (stored.actor_name, stored.actor_role) == ("Avery Chen", "Admin")
            assert (stored.object_label, stored.action) == ("Q3 report", "created")
            parties = {
                row.party
                for row in ActivityAudience.select().where(ActivityAudience.event == event.id)
            }
            leadership = Team.get(Team.name == "Leadership").id
            assert parties == {2 * admin.id, 2 * dana.id, 2 * leadership + 1}

    def test_a_failed_change_leaves_no_event(self, app, people):
        admin = people["admin@example.com"]
        with app.app_context():
            team = Team.get(Team.name == "Sales")
            teams_before = team_names()
            with pytest.raises(peewee.IntegrityError):  # the unique constraint of the change
                rename_team(admin, team, "Delivery")
            assert_nothing_written(teams_before)

    def test_an_event_recorded_before_the_change_fails_goes_with_it(self, app, people):
        # The record comes first here: the failed change must take it back too.
        admin = people["admin@example.com"]
        with app.app_context():
            team = Team.get(Team.name == "Sales")
            teams_before = team_names()
            with pytest.raises(peewee.IntegrityError), database.atomic():
                record_activity(
                    admin,
                    "team.updated",
                    Ref("team", team.id, "Delivery"),
                    changes={"name": ["Sales", "Delivery"]},
                )
                Team.update(name="Delivery").where(Team.id == team.id).execute()
            assert_nothing_written(teams_before)

    def test_a_failed_record_rolls_the_change_back(self, app, people):
        admin = people["admin@example.com"]
        with app.app_context():
            team = Team.get(Team.name == "Sales")
            database.execute_sql("DROP TABLE activity_audience")
            with pytest.raises(RecordError):
                rename_team(admin, team, "Sales EMEA")
            assert Team.get_by_id(team.id).name == "Sales"
            assert ActivityEvent.select().count() == 0

    def test_a_caller_that_swallows_the_error_commits_no_half_event(self, app, people):
        # Misuse (the change commits without its record), but the event table must still
        # never hold an event without its audience: the savepoint takes the event back.
        admin = people["admin@example.com"]
        with app.app_context():
            team = Team.get(Team.name == "Sales")
            database.execute_sql("DROP TABLE activity_audience")
            with database.atomic():
                Team.update(name="Sales EMEA").where(Team.id == team.id).execute()
                with pytest.raises(RecordError):
                    record_activity(admin, "team.updated", Ref("team", team.id, "Sales EMEA"))
            assert Team.get_by_id(team.id).name == "Sales EMEA"
            assert ActivityEvent.select().count() == 0

    def test_a_raising_enrichment_hook_does_not_stop_the_record(self, make_app, people):
        class Broken:
            @hookimpl
            def before_record(self, event):
                raise RuntimeError("enrichment service down")

        class Tagger:
            @hookimpl
            def before_record(self, event):
                event["summary"] = "tagged"

        app = make_app(plugins=[Broken(), Tagger()])
        with app.app_context():
            admin = User.get(User.email == "admin@example.com")
            event = record_activity(admin, "task.created", Ref("task", 1, "T"))
            assert ActivityEvent.get_by_id(event.id).summary == "tagged"

    def test_bulk_path_writes_every_event_with_its_audience(self, app, people):
        dana = people["teammate@example.com"]
        with app.app_context():
            entries = [
                build_entry(dana, "task.completed", Ref("task", n, f"Task {n}"))
                for n in range(1200)
            ]
            ids = record_entries(entries, chunk=500)
            assert len(ids) == 1200 == ActivityEvent.select().count()
            assert ids == sorted(set(ids))
            with_actor = ActivityAudience.select().where(ActivityAudience.party == 2 * dana.id)
            assert with_actor.count() == 1200

    def test_verb_must_be_dotted(self, app, people):
        with app.app_context(), pytest.raises(ValueError, match="verb"):
            record_activity(None, "created", Ref("task", 1, "T"))


class TestChangeCapture:
    def test_only_changed_fields_are_kept(self):
        before = {"title": "A", "status": "open", "notes": "x"}
        after = {"title": "A", "status": "done", "notes": "x"}
        assert diff(before, after) == {"status": ["open", "done"]}

    def test_nothing_changed_is_an_empty_diff(self):
        assert diff({"title": "A"}, {"title": "A"}) == {}

    def test_masked_fields_are_recorded_without_values(self):
        changes = diff({"password": "old-secret"}, {"password": "new-secret"}, masked={"password"})
        assert changes == {"password": [MASK, MASK]}
        assert "secret" not in json.dumps(changes)

    def test_excluded_fields_are_never_recorded(self):
        assert diff({"updated_at": 1}, {"updated_at": 2}, exclude={"updated_at"}) == {}


@pytest.fixture
def history(app, people):
    """Record a small history: Dana (Delivery) assigns Ines (Sales); Sam (Sales) alone; etc."""
    dana, ines = people["teammate@example.com"], people["ines@example.com"]
    sam, client = people["sales@example.com"], people["client@example.com"]
    with app.app_context():
        grant_activity("Teammate")
        grant_activity("Salesperson")
        events = {
            "assigned": record_activity(
                dana,
                "task.created",
                Ref("task", 1, "Draft proposal"),
                audience=Audience(users={ines.id}),
            ),
            "sam": record_activity(
                sam, "company.updated", Ref("company", 3, "Globex"), changes={"phone": ["1", "2"]}
            ),
            "client": record_activity(
                client,
                "document.updated",
                Ref("document", 9, "NDA"),
                changes={"body": ["v1", "v2"]},
            ),
            "again": record_activity(
                dana,
                "task.updated",
                Ref("task", 1, "Draft proposal"),
                changes={"status": ["open", "done"]},
            ),
        }
        return {name: event.id for name, event in events.items()}


class TestScope:
    def test_related_scope_shows_what_names_the_viewer_or_their_team(self, client, history):
        sign_in(client, "ines@example.com")
        ids = row_ids(client.get("/stream/activity").text)
        assert history["assigned"] in ids  # Ines is named on the task
        assert history["sam"] in ids  # Sam's team (Sales) is in the audience; Ines is in Sales
        assert history["client"] not in ids  # relates to nobody Ines is or belongs to

    def test_unrelated_salesperson_does_not_see_the_assignment(self, client, history):
        sign_in(client, "hiro@example.com")
        ids = row_ids(client.get("/stream/activity").text)
        assert history["assigned"] not in ids
        assert history["sam"] in ids  # Hiro shares Sam's team, which is in the audience

    def test_admin_sees_all_including_contacts_actions(self, client, history):
        sign_in(client, "admin@example.com")
        assert set(history.values()) <= set(row_ids(client.get("/stream/activity").text))

    def test_detail_of_an_unrelated_event_is_404(self, client, history):
        sign_in(client, "hiro@example.com")
        assert client.get(f"/stream/activity/{history['assigned']}").status_code == 404
        assert client.get(f"/stream/activity/{history['sam']}").status_code == 200


class TestFilters:
    def test_each_filter_narrows_the_rows(self, app, client, history, people):
        sign_in(client, "admin@example.com")
        dana = people["teammate@example.com"]
        sales = Team.get(Team.name == "Sales").id
        cases = {
            f"actor={dana.id}": {history["assigned"], history["again"]},
            "verb=company.updated": {history["sam"]},
            "action=updated": {history["sam"], history["client"], history["again"]},
            "type=document": {history["client"]},
            "object=task:1": {history["assigned"], history["again"]},
            # related to Sales: Sam (member, and his team) and Ines (member, named on the task)
            f"team={sales}": {history["assigned"], history["sam"]},
            "q=globex": {history["sam"]},
            "q=Claire": {history["client"]},
        }
        for query, expected in cases.items():
            response = client.get(f"/stream/activity?{query}")
            assert response.status_code == 200, query
            assert set(row_ids(response.text)) == expected, query

    def test_date_range_is_inclusive_in_the_viewers_time_zone(self, app, client, history):
        sign_in(client, "admin@example.com")
        with app.app_context(), guard.lifted():  # an event of another day, as if recorded then
            ActivityEvent.update(occurred_at="2026-03-10 03:30:00").where(
                ActivityEvent.id == history["sam"]
            ).execute()
        # Avery's zone is America/New_York: 03:30 UTC on the 10th is the evening of the 9th.
        assert row_ids(client.get("/stream/activity?from=2026-03-09&to=2026-03-09").text) == [
            history["sam"]
        ]
        assert row_ids(client.get("/stream/activity?from=2026-03-10&to=2026-03-10").text) == []

    @pytest.mark.parametrize(
        "query",
        [
            "actor=abc",
            "from=2026-13-01",
            "object=task",
            "after=-1",
            "team=x",
            "from=2026-02-02&to=2026-02-01",
        ],
    )
    def test_malformed_filters_are_400_with_the_parameter_named(self, client, history, query):
        sign_in(client, "admin@example.com")
        response = client.get(f"/stream/activity?{query}")
        assert response.status_code == 400
        name = query.split("=")[0] if "&" not in query else "from"
        assert f"{name}:" in response.text

    def test_a_refused_filter_is_a_message_beside_the_fields_and_the_rows_stay(
        self, client, history, people
    ):
        sign_in(client, "admin@example.com")
        dana = people["teammate@example.com"].id
        response = client.get(
            f"/stream/activity?actor={dana}&from=2026-02-02&to=2026-02-01",
            headers={"HX-Request": "true", "HX-Target": "feed-results"},
        )
        assert response.status_code == 400
        assert response.headers["HX-Push-Url"] == "false"
        page = response.text
        assert '<form class="filters"' in page  # the bar is still there
        error = re.search(r'<p id="feed-filter-error"[^>]*>(.*?)</p>', page, re.S).group(1)
        assert "from: the start date is after the end date" in error
        # The actor filter, which was fine, still applies.
        assert set(row_ids(page)) == {history["assigned"], history["again"]}
        assert "from=" not in re.search(r'id="new-events"[^>]*', page).group(0)

    def test_actions_are_named_as_the_rows_name_them_and_only_those_that_occur(
        self, client, history
    ):
        sign_in(client, "admin@example.com")
        page = client.get("/stream/activity").text
        bar = re.search(r'<select id="activity-action".*?</select>', page, re.S).group(0)
        assert re.findall(r'<option value="([^"]*)"', bar) == ["", "created", "edited"]
        assert re.search(r'<option value="task"[^>]*>Task</option>', page)
        edited = set(row_ids(client.get("/stream/activity?action=edited").text))
        assert edited == {history["sam"], history["client"], history["again"]}
        assert set(row_ids(client.get("/stream/activity?action=updated").text)) == edited

    def test_one_objects_history_is_named_by_the_object(self, client, history):
        sign_in(client, "admin@example.com")
        page = client.get("/stream/activity?object=task:1").text
        assert "history of Task “Draft proposal”" in page

    def test_the_detail_shows_fields_and_values_as_words(self, app, client, history, people):
        with app.app_context():
            event = record_activity(
                people["pm@example.com"],
                "task.updated",
                Ref("task", 1, "Draft proposal"),
                changes={"due_date": [None, "2026-12-24"], "assignees": [[], ["Kemi", "Ines"]]},
            )
        sign_in(client, "admin@example.com")
        detail = client.get(f"/stream/activity/{event.id}").text
        assert '<th scope="row">Due date</th><td>—</td><td>2026-12-24</td>' in detail
        assert "<td>none</td><td>Kemi, Ines</td>" in detail
        assert "Task edited" in detail and "task.updated" not in detail


class TestPaging:
    def test_keyset_pages_have_no_duplicate_or_missing_row_while_events_arrive(
        self, app, client, people
    ):
        admin = people["admin@example.com"]
        with app.app_context():
            record_entries(
                [build_entry(admin, "task.updated", Ref("task", n, f"T{n}")) for n in range(130)]
            )
        sign_in(client, "admin@example.com")
        html = client.get("/stream/activity").text
        seen = row_ids(html)
        next_url = re.search(r'class="sentinel" hx-get="([^"]+)"', html)
        pages = 1
        while next_url:
            with app.app_context():  # new events arrive between pages
                record_activity(admin, "task.created", Ref("task", 999, "Fresh"))
            html = client.get(
                next_url.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"}
            ).text
            seen += row_ids(html)
            next_url = re.search(r'class="sentinel" hx-get="([^"]+)"', html)
            pages += 1
        assert pages == 3
        assert len(seen) == len(set(seen)) == 130
        assert seen == sorted(seen, reverse=True)

    def test_fragment_holds_exactly_the_rows_of_the_full_page(self, app, client, history):
        sign_in(client, "admin@example.com")
        query = "/stream/activity/rows?after=999999&action=updated"
        full = client.get(query)
        fragment = client.get(query, headers={"HX-Request": "true"})
        assert "<html" in full.text and "<html" not in fragment.text
        assert row_ids(full.text) == row_ids(fragment.text) != []

    def test_total_is_capped(self, app, client, people):
        admin = people["admin@example.com"]
        with app.app_context():
            record_entries([build_entry(admin, "task.updated", Ref("task", 1, "T"))] * 1001)
        sign_in(client, "admin@example.com")
        assert "1,000+ events" in client.get("/stream/activity").text

    def test_new_events_banner_counts_what_arrived(self, app, client, history, people):
        sign_in(client, "admin@example.com")
        newest = max(history.values())
        banner = client.get(f"/stream/activity/new?since={newest}", headers={"HX-Request": "true"})
        assert "new event" not in banner.text
        with app.app_context():
            record_activity(people["pm@example.com"], "task.created", Ref("task", 5, "New"))
            record_activity(people["pm@example.com"], "task.created", Ref("task", 6, "Newer"))
        banner = client.get(f"/stream/activity/new?since={newest}", headers={"HX-Request": "true"})
        assert "2 new events" in banner.text


class TestRows:
    def test_row_reads_as_a_sentence_with_time_and_changes(self, client, history):
        sign_in(client, "admin@example.com")
        html = client.get("/stream/activity").text
        assert (
            '<strong>Dana Scully</strong> <span class="badge">Teammate</span> edited Task'
            " “Draft proposal”" in html
        )
        assert "Status: Open → Done" in html
        detail = client.get(f"/stream/activity/{history['again']}", headers={"HX-Request": "true"})
        assert "<td>Open</td><td>Done</td>" in detail.text

    def test_labels_are_escaped(self, app, client, people):
        with app.app_context():
            record_activity(
                people["pm@example.com"],
                "task.created",
                Ref("task", 1, "<script>alert(1)</script>"),
            )
        sign_in(client, "admin@example.com")
        html = client.get("/stream/activity").text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;" in html

    def test_empty_state(self, client, people):
        sign_in(client, "admin@example.com")
        assert "No activity yet" in client.get("/stream/activity").text


class TestCommitOrder:
    def test_after_commit_skips_an_event_whose_savepoint_rolled_back(self, make_app, people):
        seen = []

        class Webhook:
            @hookimpl
            def after_commit(self, event):
                seen.append(event.object_label)

        app = make_app(plugins=[Webhook()])
        with app.app_context():
            admin = User.get(User.email == "admin@example.com")
            with database.atomic():
                try:
                    with database.atomic():
                        record_activity(admin, "task.created", Ref("task", 1, "Phantom"))
                        raise RuntimeError("the change failed after recording")
                except RuntimeError:
                    pass
                record_activity(admin, "task.created", Ref("task", 2, "Real"))
        assert seen == ["Real"]

    def test_a_late_commit_with_a_lower_id_is_never_skipped(self, app, people):
        """A writer holds a low id in an open transaction while a later one commits a higher
        id. On SQLite the later writer waits; on PostgreSQL it commits at once, and readers
        of the newest events stop below the open writer until it commits."""
        admin_id = people["admin@example.com"].id
        first_allocated, quick_done, release = (threading.Event() for _ in range(3))
        finished = []

        def newest_labels():
            with app.app_context():
                viewer = User.get_by_id(admin_id)
                query = visible_events(viewer, parse_filters(MultiDict()), newer_than=0, limit=10)
                return sorted(event.object_label for event in query)

        def slow_writer():
            with app.app_context():
                admin = User.get_by_id(admin_id)
                with database.atomic():
                    record_activity(admin, "task.created", Ref("task", 1, "Slow"))
                    first_allocated.set()
                    release.wait(5)
                finished.append("slow")
            database.close()

        def quick_writer():
            first_allocated.wait(5)
            with app.app_context():
                admin = User.get_by_id(admin_id)
                record_activity(admin, "task.created", Ref("task", 2, "Quick"))
                finished.append("quick")
            database.close()
            quick_done.set()

        threads = [Worker(slow_writer, "slow"), Worker(quick_writer, "quick")]
        for thread in threads:
            thread.start()
        with app.app_context():
            sqlite = is_sqlite()
        if sqlite:
            assert not quick_done.wait(0.3)  # queued behind the open write transaction
        else:
            assert quick_done.wait(5)  # committed while the lower id is still open
            assert newest_labels() == []  # "Quick" is held back: "Slow" may still commit
        release.set()
        for thread in threads:
            thread.finish(10)  # ended, and raised nothing
        assert finished == (["slow", "quick"] if sqlite else ["quick", "slow"])
        assert newest_labels() == ["Quick", "Slow"]
        with app.app_context():
            labels = [e.object_label for e in ActivityEvent.select().order_by(ActivityEvent.id)]
            database.close()
        assert labels == ["Slow", "Quick"]


def test_upgrading_an_older_database_adds_the_index_and_keeps_every_row(app, people):
    with app.app_context():
        admin = people["admin@example.com"]
        record_entries(
            [build_entry(admin, "task.updated", Ref("task", n, f"T{n}")) for n in range(20)]
        )
        # As a database from before migration 0002 would be:
        database.execute_sql("DROP INDEX activity_event_actor_id_verb_id")
        SchemaMigration.delete().where(
            SchemaMigration.name == "activity.0002_actor_verb_index"
        ).execute()
        assert migrations.upgrade(app) == ["activity.0002_actor_verb_index"]
        assert ActivityEvent.select().count() == 20
        index_names = {index.name for index in database.get_indexes("activity_event")}
        assert "activity_event_actor_id_verb_id" in index_names


@pytest.mark.parametrize(
    "email, query",
    [
        ("admin@example.com", {}),
        ("admin@example.com", {"actor": ["7"]}),
        ("admin@example.com", {"actor": ["7"], "verb": ["task.updated"]}),
        ("admin@example.com", {"verb": ["task.updated"]}),
        ("admin@example.com", {"action": ["updated"]}),
        ("admin@example.com", {"action": ["updated"], "type": ["task"]}),
        ("admin@example.com", {"actor": ["7"], "type": ["task"]}),
        ("admin@example.com", {"object": ["task:17"]}),
        ("admin@example.com", {"after": ["500"]}),
        ("teammate@example.com", {"verb": ["task.updated"]}),
        ("teammate@example.com", {"actor": ["7"]}),
        ("teammate@example.com", {"object": ["task:17"]}),
        ("admin@example.com", {"session": ["12"]}),
        ("admin@example.com", {"request": ["req-0123456789"]}),
        ("teammate@example.com", {"session": ["12"]}),
        # Not here, by design: a type alone is read through the (type, object id, id) index
        # and its events sorted (bounded by their number); the unfiltered `related` page
        # merges a few capped, already sorted arms; a date range sorts its range.
    ],
    ids=lambda value: (
        value.split("@")[0]
        if isinstance(value, str)
        else "&".join(f"{key}={items[0]}" for key, items in value.items()) or "none"
    ),
)
def test_every_page_plan_reads_newest_first_without_sorting(app, people, email, query):
    """On SQLite (no statistics, so the plan is the same at 10 rows or 10 million) these
    filters are answered in id order by an index, so the LIMIT ends the scan: no sort."""
    if not is_sqlite():
        pytest.skip("PostgreSQL plans from its statistics")
    with app.test_request_context():
        catch_up_now()  # the steady state: the index holds every event (else see _split)
        args = MultiDict([(key, value) for key, values in query.items() for value in values])
        page_query = visible_events(
            people[email], parse_filters(args), older_than=parse_cursor(args), limit=51
        )
        sql, params = page_query.sql()
        plan = [row[3] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert not [step for step in plan if "TEMP B-TREE" in step], plan


def test_upgrading_rebuilds_the_audience_without_its_foreign_key_and_keeps_every_row(app, people):
    with app.app_context():
        admin = people["admin@example.com"]
        # The audience as databases created before migration 0003 have it:
        database.execute_sql("DROP TABLE activity_audience")
        key = '"activity_event" ("id") ON DELETE CASCADE'
        without_rowid = " WITHOUT ROWID" if is_sqlite() else ""
        database.execute_sql(
            'CREATE TABLE "activity_audience" ("event_id" BIGINT NOT NULL, "party" BIGINT NOT '
            f'NULL, PRIMARY KEY ("party", "event_id"), FOREIGN KEY ("event_id") REFERENCES {key})'
            + without_rowid
        )
        database.execute_sql(
            'CREATE UNIQUE INDEX "activity_audience_event_id_party" '
            'ON "activity_audience" ("event_id", "party")'
        )
        record_entries(
            [
                build_entry(
                    admin,
                    "task.updated",
                    Ref("task", n, f"T{n}"),
                    audience=Audience(users={people["pm@example.com"].id}),
                )
                for n in range(20)
            ]
        )
        rows = sorted(
            ActivityAudience.select(ActivityAudience.event, ActivityAudience.party).tuples()
        )
        SchemaMigration.delete().where(
            SchemaMigration.name == "activity.0003_audience_without_foreign_key"
        ).execute()
        assert migrations.upgrade(app) == ["activity.0003_audience_without_foreign_key"]
        assert database.get_foreign_keys("activity_audience") == []
        assert [
            index.name
            for index in database.get_indexes("activity_audience")
            if not index.name.endswith("pkey")
        ] == []
        assert (
            sorted(ActivityAudience.select(ActivityAudience.event, ActivityAudience.party).tuples())
            == rows
        )
        assert len(rows) == 20 * (2 + len(admin.team_ids()))
        # A purge: the audience rows first, then the events (no foreign key to check or cascade).
        with database.atomic(), guard.permit():
            ActivityAudience.delete().where(ActivityAudience.event <= 10).execute()
            ActivityEvent.delete().where(ActivityEvent.id <= 10).execute()
        assert ActivityAudience.select().count() == len(rows) // 2


@pytest.mark.parametrize(
    "query, index",
    [
        ({"session": ["12"]}, "activity_event_recorded_via_id"),
        ({"request": ["req-0123456789"]}, "activity_event_request_id_id"),
    ],
    ids=["session", "request"],
)
def test_a_session_or_request_is_read_through_its_own_index(app, people, query, index):
    """What one session or request did is a few steps of its (column, id) index at any size,
    never a walk of every event (SQLite: the plan is the same at 10 rows or 10 million)."""
    if not is_sqlite():
        pytest.skip("PostgreSQL plans from its statistics")
    with app.test_request_context():
        catch_up_now()  # the steady state: the index holds every event (else see _split)
        args = MultiDict([(key, value) for key, values in query.items() for value in values])
        page_query = visible_events(people["admin@example.com"], parse_filters(args), limit=51)
        sql, params = page_query.sql()
        plan = [row[3] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert any(index in step for step in plan), plan


def test_upgrading_adds_the_session_and_request_indexes_and_keeps_every_row(app, people):
    with app.app_context():
        admin = people["admin@example.com"]
        record_entries(
            [build_entry(admin, "task.updated", Ref("task", n, f"T{n}")) for n in range(20)]
        )
        # As a database from before migration core.0015 would be:
        for name in ("activity_event_recorded_via_id", "activity_event_request_id_id"):
            database.execute_sql(f"DROP INDEX {name}")
        SchemaMigration.delete().where(
            SchemaMigration.name == "core.0015_session_request_indexes"
        ).execute()
        assert migrations.upgrade(app) == ["core.0015_session_request_indexes"]
        assert ActivityEvent.select().count() == 20
        index_names = {index.name for index in database.get_indexes("activity_event")}
        assert {"activity_event_recorded_via_id", "activity_event_request_id_id"} <= index_names
