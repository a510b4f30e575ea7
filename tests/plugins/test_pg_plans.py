"""The Activity tab's plans on PostgreSQL: each search and page is read the way that stops
early (newest first through an index, or a short index range), never by walking every newer
row or sorting every match.

PostgreSQL plans from its statistics, so the database is seeded once for the module with
enough events (``EVENTS``, spread over 90 days, ids growing with time as the recorder writes
them) and analysed, as autovacuum would after a bulk load; each test then reads the plan of
the query the tab runs (``visible_events`` and the feed's capped count) with ``EXPLAIN
ANALYZE``, which also says which parts of a plan never ran.
"""

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from core import migrations
from core.app import create_app
from core.db import database
from core.db import utcnow
from core.demo import demo_users
from core.demo import seed_people
from core.testing import throwaway_postgres
from plugins.activity import views
from plugins.activity.filters import parse_filters
from plugins.activity.queries import visible_events

EVENTS = 200_000
DAYS = 90
ACTORS = 50  # 4,000 events each: an actor's last 30 days pass the count's cap


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """Return ``(app, people)`` on a PostgreSQL database holding ``EVENTS`` events."""
    with throwaway_postgres("activity_stream_plans") as url:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": url,
                "HUEY_URL": "memory://",
                "HUEY_IMMEDIATE": True,
                "SECRET_KEY": "test-secret-key-0123456789",
                "INSTANCE_PATH": str(tmp_path_factory.mktemp("plans")),
            }
        )
        with app.app_context():
            migrations.upgrade(app)
            with database.atomic():
                seed_people()
            people = demo_users()
            _seed_events(people["teammate@example.com"].id)
            database.execute_sql("VACUUM ANALYZE activity_event")
            database.execute_sql("VACUUM ANALYZE activity_audience")
            database.close()
        yield app, people
        with app.app_context():
            database.close()


def _seed_events(teammate_id):
    """Insert ``EVENTS`` events over the last ``DAYS`` days in one statement: ``ACTORS`` actors,
    four types and actions, 5,000 objects; one summary in twelve says "Move this to next
    week"; each event's audience is its actor, and one in fifty the Teammate's too."""
    start = utcnow() - timedelta(days=DAYS)
    database.execute_sql(
        "INSERT INTO activity_event (occurred_at, actor_id, actor_name, actor_role, verb,"
        " action, object_type, object_id, object_label, summary)"
        " SELECT %s + g * (%s * interval '1 second'), 1000 + g %% %s,"
        " 'Bench Actor ' || lpad((g %% %s)::text, 3, '0'), 'Member', t || '.' || a, a, t,"
        " (g %% 5000)::text, initcap(t) || ' ' || lpad((g %% 5000)::text, 4, '0'),"
        " CASE WHEN g %% 12 = 0 THEN 'Move this to next week'"
        " WHEN g %% 7 = 0 THEN 'Looks good to me' ELSE 'done' END"
        " FROM generate_series(1, %s) AS g,"
        " LATERAL (SELECT (ARRAY['task', 'document', 'company', 'project'])[1 + g %% 4] AS t,"
        " (ARRAY['created', 'updated', 'deleted', 'commented'])[1 + (g / 4) %% 4] AS a) AS k",
        (start, DAYS * 86400 / EVENTS, ACTORS, ACTORS, EVENTS),
    )
    database.execute_sql(
        "INSERT INTO activity_audience (event_id, party)"
        " SELECT id, 2 * actor_id FROM activity_event"
        " UNION ALL SELECT id, %s FROM activity_event WHERE id %% 50 = 0",
        (2 * teammate_id,),
    )


def plan_of(app, people, email, args, count=False):
    """Return the ``EXPLAIN ANALYZE`` lines of the page query (or the capped count) the tab
    runs for ``email`` under ``args`` (a dict of query-string values)."""
    viewer = people[email]
    with app.app_context(), app.test_request_context("/stream/activity"):
        filters = parse_filters(MultiDict(args))
        older_than = int(args["after"]) if "after" in args else None
        if count:
            limited = visible_events(viewer, filters, columns=[views.FEED.model.id], limit=1001)
            query = views.FEED.count_query(limited)
        else:
            query = visible_events(viewer, filters, older_than=older_than, limit=51)
        sql, params = query.sql()
        rows = database.execute_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql, params
        )
        return [row[0] for row in rows]


def _week_back():
    today = utcnow().date()
    return today - timedelta(days=66), today - timedelta(days=60)


def _removed(plan):
    """Return the most rows any one step of ``plan`` read and threw away."""
    counts = [int(line.split(":")[1]) for line in plan if "Rows Removed by Filter" in line]
    return max(counts, default=0)


def _walks_the_primary_key_back(plan):
    return any("Index Scan Backward using activity_event_pkey" in line for line in plan)


def _walks_every_newer_id(plan):
    """Tell whether ``plan`` walks the primary key back without a lower bound on the ids."""
    return any(
        "Index Scan Backward using activity_event_pkey" in line and "id >" not in plan[i + 1]
        for i, line in enumerate(plan)
    )


def _window_sufficed(plan):
    """Tell whether the newest ids, walked back between two bounds, gave the page, the
    full-text index never asked."""
    walks = [
        i for i, line in enumerate(plan) if "Index Scan Backward using activity_event_pkey" in line
    ]
    bitmap = [line for line in plan if "Bitmap Heap Scan" in line]
    return (
        bool(walks)
        and "id >" in plan[walks[0] + 1]
        and bool(bitmap)
        and all("never executed" in line for line in bitmap)
    )


def test_the_app_reads_without_jit(seeded):
    """A search's plan holds branches it never runs, costed as reading millions of rows: JIT
    compiled for them on every search at 10M events (13 ms, against 0.7 ms of SQL)."""
    app, _ = seeded
    with app.app_context():
        assert database.execute_sql("SHOW jit").fetchone()[0] == "off"
        database.close()


@pytest.mark.parametrize("how", ["created", "from_to"])
def test_a_week_long_ago_is_read_day_by_day_not_through_every_newer_event(seeded, how):
    app, people = seeded
    first, last = _week_back()
    args = (
        {"q": f"created:{first}..{last}"}
        if how == "created"
        else {"from": str(first), "to": str(last)}
    )
    plan = plan_of(app, people, "admin@example.com", args)
    text = "\n".join(plan)
    assert "Seq Scan" not in text, text
    assert not _walks_the_primary_key_back(plan), text
    assert "activity_event_day_id" in text, text
    # Only the rows of the range's last day beyond its end (the zone's offset) are passed over.
    assert _removed(plan) < EVENTS / DAYS, text


@pytest.mark.parametrize("query", ['"move this to next week"', "task", "loo", '"task"'])
def test_a_common_word_or_phrase_walks_the_newest_ids_and_never_asks_the_index(seeded, query):
    app, people = seeded
    plan = plan_of(app, people, "admin@example.com", {"q": query})
    text = "\n".join(plan)
    assert "Seq Scan" not in text and not _walks_every_newer_id(plan), text
    assert _window_sufficed(plan), text
    assert _removed(plan) < 1000, text


@pytest.mark.parametrize("query", ["0042", "Task 0042", '"company 0042"'])
def test_a_rare_word_or_phrase_is_found_through_the_index_below_the_window(seeded, query):
    app, people = seeded
    plan = plan_of(app, people, "admin@example.com", {"q": query})
    text = "\n".join(plan)
    assert "Seq Scan" not in text and not _walks_every_newer_id(plan), text
    assert "Bitmap Index Scan on activity_search" in text and not _window_sufficed(plan), text
    assert _removed(plan) <= 5000, text  # the window's rows, at most
    # Below the window, the index is asked for the rarest word alone.
    asked = [line for line in plan if "Index Cond" in line and "activity_search_vector" in line]
    assert asked and all("&" not in line and "<->" not in line for line in asked), text


def test_an_actors_last_30_days_are_counted_through_the_actor_index_alone(seeded):
    """The actor's rows are read through their own index, each one's time checked: newest
    first until the cap, or (the planner's choice, when the cap needs most of them) all of
    them, then sorted. The time index is never intersected with the actor's (every id of
    the month: 330,000 at 1M events), nor the table walked."""
    app, people = seeded
    today = utcnow().date()
    args = {"actor": "1007", "from": str(today - timedelta(days=29)), "to": str(today)}
    plan = plan_of(app, people, "admin@example.com", args, count=True)
    text = "\n".join(plan)
    assert "activity_event_actor_id_id" in text and "Seq Scan" not in text, text
    assert "BitmapAnd" not in text and "activity_event_occurred_at" not in text, text
    assert not _walks_the_primary_key_back(plan), text
    assert _removed(plan) < EVENTS / ACTORS, text  # the actor's rows, at most


@pytest.mark.parametrize(
    "email, args, index",
    [
        ("admin@example.com", {}, "activity_event_pkey"),
        ("admin@example.com", {"actor": "1007", "verb": "task.updated"}, "actor_id_verb_id"),
        ("admin@example.com", {"after": str(EVENTS - 20_000)}, "activity_event_pkey"),
        ("admin@example.com", {"object": "task:17"}, "object_type_object_id_id"),
        ("admin@example.com", {"q": "type:task"}, None),
        ("teammate@example.com", {}, "activity_audience_pkey"),
    ],
    ids=["first", "filtered", "deep", "history", "type", "teammate"],
)
def test_plain_pages_read_an_index_and_stop(seeded, email, args, index):
    app, people = seeded
    plan = plan_of(app, people, email, args)
    text = "\n".join(plan)
    assert "Seq Scan" not in text, text
    if index:
        assert index in text, text
    assert _removed(plan) < 2000, text


@pytest.mark.parametrize("query", ['"move this to next week"', "Task 0042"])
def test_a_count_of_several_words_asks_the_index_for_the_rarest_word_alone(seeded, query):
    app, people = seeded
    plan = plan_of(app, people, "admin@example.com", {"q": query}, count=True)
    text = "\n".join(plan)
    asked = [line for line in plan if "Index Cond" in line and "activity_search_vector" in line]
    assert asked and all("&" not in line and "<->" not in line for line in asked), text
    assert "Seq Scan" not in text and not _walks_every_newer_id(plan), text


def test_a_common_word_with_an_actor_is_counted_through_the_actor_index(seeded):
    """The word is checked on the actor's rows: the text index's entries of a common word
    are never intersected with them (104,000 for `done` at 1M events)."""
    app, people = seeded
    args = {"actor": "1007", "q": "done"}
    plan = plan_of(app, people, "admin@example.com", args, count=True)
    text = "\n".join(plan)
    assert "activity_event_actor_id_id" in text and "on activity_search " not in text, text
    assert "Seq Scan" not in text and not _walks_the_primary_key_back(plan), text


@pytest.mark.parametrize(
    "query, matches",
    [
        ("0007", "e.object_id = '7'"),  # a rare word (an object's number): straight to the index
        ("week", "e.summary = 'Move this to next week'"),  # a common one: the newest window
        ('"next week"', "e.summary = 'Move this to next week'"),  # a phrase
    ],
    ids=["rare word", "common word", "phrase"],
)
def test_each_search_path_shows_a_teammate_only_what_relates_to_them(seeded, query, matches):
    """The plans above read differently, each through ``_visible`` and its scope: a Teammate's
    page is exactly the newest 51 matching events whose audience holds them. Object 7's events
    relate to no one but their actors: every other one is made the Teammate's too, in a
    transaction rolled back after."""
    app, people = seeded
    party = 2 * people["teammate@example.com"].id
    with (
        app.app_context(),
        app.test_request_context("/stream/activity"),
        database.atomic() as transaction,
    ):
        database.execute_sql(
            "INSERT INTO activity_audience (event_id, party) SELECT id, %s FROM"
            " (SELECT id, row_number() OVER (ORDER BY id) AS n FROM activity_event"
            "  WHERE object_id = '7') AS numbered WHERE n %% 2 = 0",
            (party,),
        )
        filters = parse_filters(MultiDict({"q": query}))
        teammate = people["teammate@example.com"]
        page = [event.id for event in visible_events(teammate, filters, limit=51)]
        expected = [
            row[0]
            for row in database.execute_sql(
                "SELECT e.id FROM activity_event e JOIN activity_audience a"
                f" ON a.event_id = e.id AND a.party = %s WHERE {matches}"
                " ORDER BY e.id DESC LIMIT 51",
                (party,),
            )
        ]
        transaction.rollback()
    assert expected and page == expected
