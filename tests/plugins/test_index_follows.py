"""The Activity tab's full-text index on SQLite follows its table (``TextIndex.follows``).

The recorder writes the event alone; the index takes events in later, in batches, from each
process's background thread. Until then a search checks the events above the index's position
one by one, so it finds a record from the moment it commits, exactly as the index would. These
tests hold the thread back to look at the index while it is behind, then let it catch up.
"""

import logging
import sqlite3
import time

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from core import checkpointer
from core import migrations
from core.db import database
from core.db import is_sqlite
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Ref
from core.events import build_entry
from core.events import record_activity
from core.events import record_entries
from core.events.reads import record_access
from core.evidence.guard import PSEUDONYMISE
from core.evidence.guard import permit
from core.migrations import SchemaMigration
from core.people import Role
from core.people import User
from core.search.index import POSITIONS
from core.search.index import catch_up_now
from core.search.language import parse
from core.search.matching import spec_of
from core.search.matching import words_match
from plugins.activity import views
from plugins.activity.filters import QUALIFIERS
from plugins.activity.index import INDEX
from plugins.activity.queries import visible_events
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant


@pytest.fixture
def behind(app):
    """Return the app on SQLite with its background thread stopped: the index stays where
    it is until a test catches it up."""
    if not is_sqlite():
        pytest.skip("PostgreSQL writes each row's vector with the row")
    checkpointer.stop()
    with app.test_request_context():
        catch_up_now()
    return app


def entries(people, word, count):
    """Return ``count`` events by the admin whose object label holds ``word``."""
    actor = people["admin@example.com"]
    return [
        build_entry(actor, "task.updated", Ref("task", n, f"{word} n{n}"), {"status": ["a", "b"]})
        for n in range(count)
    ]


def indexed(word):
    """Return the ids the index itself holds for ``word``."""
    sql = f"SELECT rowid FROM {INDEX.name} WHERE {INDEX.name} MATCH ?"
    return {row_id for (row_id,) in database.execute_sql(sql, (word,)).fetchall()}


def position():
    """Return the index's position."""
    sql = f"SELECT indexed_through FROM {POSITIONS} WHERE name = ?"
    return database.execute_sql(sql, (INDEX.name,)).fetchone()[0]


def page_ids(viewer, query):
    """Return the ids of the first page of the Activity tab for ``viewer`` under ``query``."""
    filters = views.FEED.filters_of(MultiDict(query), viewer)
    page, _ = views.FEED.page(viewer, filters)
    return [event.id for event in page]


def assert_exact():
    """Fail unless the caught-up index holds each event once, with its own words."""
    catch_up_now()
    database.execute_sql(f"INSERT INTO {INDEX.name} ({INDEX.name}) VALUES ('integrity-check')")
    sql = f"SELECT rowid FROM {INDEX.name} WHERE {INDEX.name} MATCH 'day : 2*' ORDER BY rowid"
    days = [row_id for (row_id,) in database.execute_sql(sql).fetchall()]
    assert days == [row_id for (row_id,) in ActivityEvent.select(ActivityEvent.id).tuples()]
    assert position() == ActivityEvent.select().order_by(ActivityEvent.id.desc()).get().id


def test_a_record_is_found_from_the_moment_it_commits_and_indexed_later(behind, people):
    admin = people["admin@example.com"]
    with behind.test_request_context():
        ids = record_entries(entries(people, "tailword", 60))
        with database.atomic():
            one = record_activity(admin, "document.created", Ref("document", 1, "lonelyword"))
        assert indexed("tailword") == set() and indexed("lonelyword") == set()
        assert INDEX.unindexed_from() == ids[0] - 1
        # Found by the page, the count, a prefix, a phrase, an exclusion, with a type.
        assert page_ids(admin, {"q": "tailword"}) == sorted(ids, reverse=True)[:50]
        assert views.FEED.total(admin, views.FEED.filters_of(MultiDict({"q": "tailword"}), admin))
        assert page_ids(admin, {"q": "lonel"}) == [one.id]
        assert page_ids(admin, {"q": '"tailword n59"'}) == [ids[-1]]
        assert one.id not in page_ids(admin, {"q": "-lonelyword"})
        assert page_ids(admin, {"q": "type:document lonelyword"}) == [one.id]
        assert page_ids(admin, {"q": "type:document"})[0] == one.id
        catch_up_now()
        assert indexed("tailword") == set(ids) and indexed("lonelyword") == {one.id}
        assert INDEX.unindexed_from() is None
        assert page_ids(admin, {"q": "tailword"}) == sorted(ids, reverse=True)[:50]
        assert_exact()


def test_a_teammate_finds_above_the_position_only_what_relates_to_them(behind, people):
    teammate = people["teammate@example.com"]
    with behind.test_request_context():
        theirs = record_activity(teammate, "task.created", Ref("task", 1, "sharedword mine"))
        record_entries(entries(people, "sharedword", 5))  # the admin's, unrelated to them
        assert INDEX.unindexed_from() is not None
        assert page_ids(teammate, {"q": "sharedword"}) == [theirs.id]
        assert page_ids(teammate, {"q": "type:task"}) == [theirs.id]


def test_a_page_while_behind_reads_the_index_below_the_position_and_sorts_only_its_page(
    behind, people
):
    """Split at the position: the indexed side is read newest first through the index and the
    side above it by id, each stopped at the page's size; only those are sorted."""
    admin = people["admin@example.com"]
    with behind.test_request_context():
        record_entries(entries(people, "planword", 3))
        filters = views.FEED.filters_of(MultiDict({"q": "planword type:task"}), admin)
        sql, params = visible_events(admin, filters, limit=51).sql()
        plan = [row[3] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert any("VIRTUAL TABLE INDEX" in step for step in plan), plan  # the index, below
    assert "SEARCH t1 USING INTEGER PRIMARY KEY (rowid>?)" in plan  # by id, above
    assert not [step for step in plan if "TEMP B-TREE" in step or step.startswith("SCAN t1")]
    assert sql.count("LIMIT") == 3, sql


def test_changes_deletions_and_reused_ids_keep_the_index_exact(behind, people):
    with behind.test_request_context():
        below = record_entries(entries(people, "belowword", 4))
        catch_up_now()
        above = record_entries(entries(people, "aboveword", 4))
        with database.atomic(), permit(PSEUDONYMISE):  # a person's data replaced, both sides
            for event_id in (below[0], above[0]):
                rename = ActivityEvent.update(object_label=f"renamed{event_id}")
                rename.where(ActivityEvent.id == event_id).execute()
        with database.atomic(), permit():  # as retention prunes, both sides
            pruned = [below[1], above[1]]
            ActivityAudience.delete().where(ActivityAudience.event.in_(pruned)).execute()
            ActivityEvent.delete().where(ActivityEvent.id.in_(pruned)).execute()
        assert indexed(f"renamed{below[0]}") == {below[0]}  # below: the triggers kept it
        catch_up_now()
        with database.atomic(), permit():  # the newest, indexed, go; their ids come back
            ActivityAudience.delete().where(ActivityAudience.event >= above[2]).execute()
            ActivityEvent.delete().where(ActivityEvent.id >= above[2]).execute()
        again = record_entries(entries(people, "againword", 3))
        assert again == above[1:]
        assert indexed("againword") == set(again)  # at or below the position: the trigger
        assert indexed("aboveword") == set()
        assert_exact()
        admin = people["admin@example.com"]
        assert page_ids(admin, {"q": f"renamed{above[0]}"}) == [above[0]]


def test_the_background_thread_catches_up_by_itself(app, people):
    if not is_sqlite():
        pytest.skip("PostgreSQL writes each row's vector with the row")
    with app.test_request_context():
        ids = record_entries(entries(people, "threadword", 4500))  # three batches
        deadline = time.monotonic() + 20
        while INDEX.unindexed_from() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert INDEX.unindexed_from() is None
        assert indexed("threadword") == set(ids)
        assert_exact()


def test_upgrading_makes_a_written_index_follow_without_indexing_twice(behind, people):
    with behind.test_request_context():
        ids = record_entries(entries(people, "oldword", 30))
        catch_up_now()
        # As a database from before migration 0003 would be: kept by the writers' triggers.
        database.execute_sql(f"DROP TABLE {POSITIONS}")
        for event in ("insert", "delete", "update"):
            database.execute_sql(f"DROP TRIGGER {INDEX.name}_{event}")
        INDEX.create.__func__(_Synchronous(INDEX))
        SchemaMigration.delete().where(
            SchemaMigration.name == "activity_tab.0003_index_follows"
        ).execute()
        more = record_entries(entries(people, "oldword", 5))
        assert indexed("oldword") == set(ids + more)  # written by the writers' triggers
        assert migrations.upgrade(behind) == ["activity_tab.0003_index_follows"]
        assert position() == more[-1]
        newest = record_entries(entries(people, "newword", 3))
        assert indexed("newword") == set()
        assert_exact()
        assert indexed("newword") == set(newest)


class _Synchronous:
    """The Activity index as declared before it followed its table."""

    def __init__(self, index):
        self._index = index
        self.follows = False

    def __getattr__(self, name):
        return getattr(self._index, name)


# words_match is FTS5's reading of the same terms, on rows FTS5 has not indexed.

VOCABULARY = ["budget", "bud", "report", "q3", "zoë", "東京", "roadmap", "road", "a", "draft"]
texts = st.lists(st.sampled_from(VOCABULARY + ["-", " ", ", ", "_"]), max_size=8).map("".join)
terms = st.tuples(
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=2).map(tuple),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(texts, texts), min_size=1, max_size=6),
    wanted=st.lists(terms, max_size=2),
    unwanted=st.lists(terms, max_size=2),
)
def test_words_match_finds_what_fts5_finds(rows, wanted, unwanted):
    if not wanted and not unwanted:
        return
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(a, b, tokenize='unicode61 remove_diacritics 0',"
        " prefix='2 3 4')"
    )
    connection.executemany(
        "INSERT INTO t (rowid, a, b) VALUES (?, ?, ?)", [(n, a, b) for n, (a, b) in enumerate(rows)]
    )

    def phrase(words, prefix):
        return '"' + " ".join(words) + '"' + ("*" if prefix else "")

    included = " AND ".join(phrase(w, p) for w, p in wanted)
    excluded = " OR ".join(phrase(w, p) for w, p in unwanted)
    if included and excluded:
        expression = f"({included}) NOT ({excluded})"
        found = {
            r for (r,) in connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,))
        }
    elif included:
        found = {
            r for (r,) in connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (included,))
        }
    else:
        hit = {r for (r,) in connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (excluded,))}
        found = set(range(len(rows))) - hit
    spec = spec_of(wanted, unwanted)
    assert {n for n, (a, b) in enumerate(rows) if words_match(spec, a, b)} == found


def test_the_words_condition_checks_the_events_above_the_position(behind, people):
    """``TextIndex.condition`` (the Email tab's way, and a hidden team's name) is exact on both
    sides of the position, for words to find and words to leave out."""
    with behind.test_request_context():
        below = record_entries(entries(people, "condword", 3))
        catch_up_now()
        above = record_entries(entries(people, "condword", 3))
        assert INDEX.unindexed_from() == below[-1]

        def matching(query):
            terms = [term for term in parse(query, QUALIFIERS).terms if not term.key]
            found = ActivityEvent.select(ActivityEvent.id).where(
                INDEX.condition(ActivityEvent.id, terms)
            )
            return {event_id for (event_id,) in found.tuples()}

        assert matching("condword -n1") == {below[0], below[2], above[0], above[2]}
        everyone = {event_id for (event_id,) in ActivityEvent.select(ActivityEvent.id).tuples()}
        assert matching("-n1") == everyone - {below[1], above[1]}


def test_a_page_with_nothing_to_look_up_never_reads_the_position(behind, people, caplog):
    """The index's position is one more statement: a page with no words and no filter the
    index drives (the tab as it opens) runs without it, even with events above it."""
    admin = people["admin@example.com"]
    with behind.test_request_context():
        record_entries(entries(people, "quietword", 3))
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            assert len(page_ids(admin, {})) == len(ActivityEvent.select()[:50])
        statements = [record.getMessage() for record in caplog.records]
        assert statements and not [sql for sql in statements if f"FROM {POSITIONS}" in sql]
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            page_ids(admin, {"q": "quietword"})
        assert [record for record in caplog.records if f"FROM {POSITIONS}" in record.getMessage()]


def test_a_read_above_the_position_stays_hidden_from_all_but_admins(behind, people):
    """Access events (who read what) show to the Admins only, on both sides of the split: a
    Project Manager who sees every event finds the words of a new read in none of them."""
    with behind.test_request_context():
        role = Role.get(Role.name == "Project Manager")
        TabGrant.create(tab="activity", role=role)
        RoleScope.create(role=role, tab="activity", scope="all")
        owner = people["owner@example.com"]
        with database.atomic():
            read = record_access(
                owner, "tab.read", Ref("tab", "logins", "readword"), once_within=None
            )
        assert INDEX.unindexed_from() is not None
        pm = User.select(User, Role).join(Role).where(User.email == "pm@example.com").get()
        admin = people["admin@example.com"]
        for query in ({"q": "readword"}, {"q": "type:tab"}, {}):
            assert read.id not in page_ids(pm, query), query
        assert read.id in page_ids(admin, {"q": "readword"})
