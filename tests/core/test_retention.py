"""Retention (core.retention, the Retention section of Settings): the choice per tab and who
may make it, the dry run's count, the prune (exactly the records older than the cut-off, with
their audience, delivery attempts and search words, nothing else), its record, its batches,
and its command and task. SQLite and PostgreSQL."""

import contextlib
import fcntl
import json
import os
import re
from datetime import timedelta

import psycopg2
import pytest

from core import retention
from core.auth.clients import Client
from core.auth.signins import WRONG_PASSWORD
from core.auth.signins import SignInAttempt
from core.auth.signins import record_sign_in_attempt
from core.db import clock_at
from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Team
from core.retention import RetentionPolicy
from core.search.index import catch_up_now
from core.tabs import get_tab
from core.testing import csrf_token_of
from core.testing import sign_in
from plugins.email import outbox
from plugins.email.models import QUEUED
from plugins.email.models import EmailAttempt
from plugins.email.models import EmailMessage
from plugins.retention import views
from plugins.settings.models import TabGrant

invoices = pytest.importorskip("activity_stream_invoices")

NOW = utcnow().replace(microsecond=0)
OLD = NOW - timedelta(days=40)  # older than 30 days kept
NEW = NOW - timedelta(days=20)
TABLES = {
    "activity": ActivityEvent,
    "email": EmailMessage,
    "logins": SignInAttempt,
    "invoices": invoices.Invoice,
}


@pytest.fixture
def app(make_app):
    """Every plugin (the Invoices example among them: a tab that declares no prune)."""
    return make_app(PLUGINS_DISABLED="")


def signed_in(app, email):
    """Return a test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def choose(client, tab, days=None, htmx=True, **extra):
    """Post the section's form for ``tab``: ``days``, or forever when None."""
    form = {"keep": "forever"} if days is None else {"keep": "days", "days": str(days)}
    form.update(extra, csrf_token=csrf_token_of(client))
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/stream/settings/retention/{tab}", data=form, headers=headers)


def keep(app, people, tab, days):
    """Keep ``tab``'s records ``days`` days (None: forever), as the owner."""
    with app.test_request_context():
        retention.set_policy(people["owner@example.com"], get_tab(tab), days)


def prune(app, now=NOW):
    """Run the prune as the hourly task does (at ``now``); return ``{tab: removed}``."""
    with app.app_context():
        return {outcome.tab.name: outcome.removed for outcome in retention.prune_all(now=now)}


def ids_of(app, model):
    """Return the ids of ``model``'s rows."""
    with app.app_context():
        return {row_id for (row_id,) in model.select(model.id).tuples()}


def record(actor, label, moment, audience=None):
    """Record one event at ``moment`` (the summary a word the search index holds)."""
    with clock_at(moment):
        return record_activity(
            actor, "task.updated", Ref("task", label, label), audience=audience, summary=label
        ).id


@pytest.fixture
def stream(app, people):
    """Records of every tab, old (40 days) and new (20 days), written by their real writers;
    return ``{"old": {tab: ids}, "new": {tab: ids}}``. Activity's have audiences of people
    and teams, old and new in turn (an event another system sent with its own time gets the
    next id); an old message still to be sent stays however old."""
    admin, pm = people["admin@example.com"], people["pm@example.com"]
    found = {"old": {tab: set() for tab in TABLES}, "new": {tab: set() for tab in TABLES}}
    with app.test_request_context():
        sales = Team.get(Team.name == "Sales")
        for number in range(7):
            # Old and new in turn: kept events sit between the ids of removed ones.
            audience = Audience(users={pm.id}, teams={sales.id}) if number % 2 else None
            found["old"]["activity"].add(record(admin, f"stale{number}", OLD, audience))
            found["new"]["activity"].add(
                record(pm, f"fresh{number}", NEW, Audience(users={admin.id}))
            )
        for moment, age in ((OLD, "old"), (NEW, "new")):
            with clock_at(moment):
                found[age]["email"].update(outbox.queue([mail(people, age, n) for n in range(3)]))
                for _ in range(3):
                    attempt = record_sign_in_attempt(
                        "pm@example.com", pm, WRONG_PASSWORD, client=Client(ip="192.0.2.7")
                    )
                    found[age]["logins"].add(attempt.id)
                for number in range(3):
                    found[age]["invoices"].add(
                        invoices.record_invoice(admin, pm, f"INV-{age}-{number}", "Acme", 100)
                    )
    with app.app_context():
        # One old message is still to be sent: it stays, however old.
        unsent = min(found["old"]["email"])
        EmailMessage.update(status=QUEUED).where(EmailMessage.id == unsent).execute()
        found["old"]["email"].discard(unsent)
        found["new"]["email"].add(unsent)
        # The other tabs' writers record events too (an invoice issued 40 days ago): each
        # event is old or new by its time, read here in Python.
        for event in ActivityEvent.select(ActivityEvent.id, ActivityEvent.occurred_at):
            age = "old" if event.occurred_at < NOW - timedelta(days=30) else "new"
            found[age]["activity"].add(event.id)
    assert not found["old"]["activity"] & found["new"]["activity"]
    return found


def mail(people, age, number):
    """One notification to the teammate."""
    return {
        "kind": "test.note",
        "private": False,
        "sender_id": None,
        "sender_name": "",
        "recipient": people["teammate@example.com"],
        "subject": f"{age} note {number}",
        "text_body": f"{age}mail",
        "html_body": f"<p>{age}mail</p>",
    }


def index_ids(app, index, word):
    """Return the row ids ``index`` (a TextIndex) finds by ``word``, read from the index itself
    on SQLite (an external-content FTS5 table keeps its own rows; caught up first when it
    follows its table)."""
    with app.app_context():
        if is_sqlite():
            catch_up_now()
            sql = f"SELECT rowid FROM {index.name} WHERE {index.name} MATCH ?"
            return {row_id for (row_id,) in database.execute_sql(sql, (word,)).fetchall()}
        sql = f"SELECT id FROM {index.table} WHERE {index.vector} @@ to_tsquery('simple', %s)"
        return {row_id for (row_id,) in database.execute_sql(sql, (word,)).fetchall()}


def audience_rows(app):
    """Return every audience row as ``(event, party)``."""
    with app.app_context():
        return set(ActivityAudience.select(ActivityAudience.event, ActivityAudience.party).tuples())


# The choice, in Settings.


@pytest.mark.parametrize("days", ["29", "0", "-5", "abc", "1e3", "", "36501", "9" * 4000])
def test_fewer_days_than_the_minimum_or_no_number_is_a_400_naming_the_field(app, people, days):
    client = signed_in(app, "admin@example.com")
    answer = choose(client, "activity", days)
    assert answer.status_code == 400
    assert 'data-field="days"' in answer.text and "days: " in answer.text
    with app.app_context():
        assert RetentionPolicy.select().count() == 0
        assert not ActivityEvent.select().where(ActivityEvent.verb == "settings.updated").exists()


def test_the_minimum_is_a_setting_and_the_refusal_shows_without_javascript(make_app, people):
    app = make_app(PLUGINS_DISABLED="", RETENTION_MIN_DAYS=45)
    client = signed_in(app, "owner@example.com")
    page = choose(client, "email", 44, htmx=False)
    assert page.status_code == 400
    assert "<html" in page.text and "keep records at least 45 days" in page.text
    assert choose(client, "email", 45, htmx=False).status_code == 303
    wrong = choose(client, "email", 60, keep="sometimes")
    assert wrong.status_code == 400 and 'data-field="keep"' in wrong.text
    with app.app_context():
        assert retention.policies() == {"email": 45}


@pytest.mark.parametrize(
    "email", ["pm@example.com", "teammate@example.com", "sales@example.com", "client@example.com"]
)
def test_only_the_owner_and_admins_may_choose(app, people, email):
    with app.app_context():
        # A grant of Settings (to a team, a role or a person) never opens it to others.
        TabGrant.create(tab="settings", team=Team.get(Team.name == "Sales"))
        TabGrant.create(tab="activity", user=people[email])
    client = signed_in(app, email)
    assert choose(client, "activity", 90).status_code == 403
    assert client.get("/stream/settings/retention/activity").status_code == 403
    signed_out = app.test_client()
    assert choose(signed_out, "activity", 90, htmx=False).status_code == 302
    with app.app_context():
        assert RetentionPolicy.select().count() == 0
    for allowed in ("owner@example.com", "admin@example.com"):
        assert choose(signed_in(app, allowed), "activity", 90).status_code == 200


def test_the_section_is_the_owners_and_admins_and_lists_every_list_tab(app, people):
    page = signed_in(app, "admin@example.com").get("/stream/settings").text
    section = page[page.index('id="retention-section"') :]
    listed = re.findall(r'<tr data-tab="([a-z_-]+)"', section)
    assert listed == ["activity", "email", "logins", "invoices"]
    assert '<a href="#retention">Retention</a>' in page
    # Settings is theirs alone (the gate); the section says so again for any other viewer.
    with app.test_request_context():
        assert views.sections(people["pm@example.com"]) == []
        assert views.sections(people["owner@example.com"]) != []


def test_a_change_is_recorded_once_with_what_it_was(app, people):
    client = signed_in(app, "admin@example.com")
    answer = choose(client, "logins", 90)
    assert answer.status_code == 200
    assert "The Logins tab keeps its records 90 days." in answer.text
    assert "already" in choose(client, "logins", 90).text
    assert choose(client, "logins", None).status_code == 200
    with app.app_context():
        changes = [
            (event.actor_name, event.object_label, json.loads(event.changes))
            for event in ActivityEvent.select()
            .where(ActivityEvent.verb == "settings.updated")
            .order_by(ActivityEvent.id)
        ]
        assert retention.policies() == {}
    assert changes == [
        ("Avery Chen", "Logins tab retention", {"records kept": ["forever", "90 days"]}),
        ("Avery Chen", "Logins tab retention", {"records kept": ["90 days", "forever"]}),
    ]


def test_an_unknown_tab_is_a_404(app, people):
    client = signed_in(app, "owner@example.com")
    assert choose(client, "nope", 90).status_code == 404
    assert choose(client, "settings", 90).status_code == 404  # not a list tab


# The prune.


def test_the_dry_run_counts_exactly_what_the_prune_removes(app, people, stream):
    for tab in TABLES:
        keep(app, people, tab, 30)
    page = signed_in(app, "owner@example.com").get("/stream/settings").text
    shown = dict(re.findall(r'<tr data-tab="(\w+)".*?retention-count">\s*([\d,]+) ', page, re.S))
    removed = prune(app)
    expected = {tab: len(stream["old"][tab]) for tab in TABLES}
    assert removed == expected
    assert {tab: int(count) for tab, count in shown.items()} == expected


def test_the_prune_removes_exactly_the_old_records_and_what_goes_with_them(app, people, stream):
    before = {tab: ids_of(app, model) for tab, model in TABLES.items()}
    audience = audience_rows(app)
    with app.app_context():
        attempts = set(EmailAttempt.select(EmailAttempt.message, EmailAttempt.id).tuples())
    assert {event for event, _ in audience} >= stream["old"]["activity"]
    assert {message for message, _ in attempts} >= stream["old"]["email"]
    words = (("activity", "stale3"), ("email", "oldmail"), ("invoices", "old"))
    found = {tab: index_ids(app, get_index(tab), word) for tab, word in words}
    assert all(found[tab] & stream["old"][tab] for tab, _ in words)

    # One tab at a time: the others are left as they were.
    for done, tab in enumerate(TABLES):
        keep(app, people, tab, 30)
        assert prune(app)[tab] == len(stream["old"][tab])
        for other, model in TABLES.items():
            # The records there before (choosing and pruning record events of their own).
            after = ids_of(app, model) & before[other]
            if other in list(TABLES)[: done + 1]:
                assert after == before[other] - stream["old"][other], other
            else:
                assert after == before[other], other
    assert {row for row in audience_rows(app) if row[0] in before["activity"]} == {
        (event, party) for event, party in audience if event not in stream["old"]["activity"]
    }
    with app.app_context():
        left = set(EmailAttempt.select(EmailAttempt.message, EmailAttempt.id).tuples())
    assert left == {(m, a) for m, a in attempts if m not in stream["old"]["email"]}
    for tab, word in words:  # the old message still to be sent keeps its words
        assert index_ids(app, get_index(tab), word) == found[tab] - stream["old"][tab], tab
    assert index_ids(app, get_index("activity"), "fresh1") != set()
    if is_sqlite():  # each index still matches its table, row for row
        with app.app_context():
            for tab in ("activity", "email", "logins", "invoices"):
                name = get_index(tab).name
                database.execute_sql(f"INSERT INTO {name} ({name}) VALUES ('integrity-check')")


def get_index(tab):
    """Return ``tab``'s full-text index."""
    from plugins.activity.index import INDEX as ACTIVITY
    from plugins.email.queries import INDEX as EMAIL
    from plugins.logins.queries import INDEX as LOGINS

    return {"activity": ACTIVITY, "email": EMAIL, "logins": LOGINS, "invoices": invoices.INDEX}[tab]


def test_the_cut_off_compares_the_records_time_to_the_second(app, people):
    admin = people["admin@example.com"]
    cut_off = NOW - timedelta(days=30)
    with app.test_request_context():
        at_cut_off = record(admin, "edge", cut_off)
        before_it = record(admin, "before", cut_off - timedelta(seconds=1))
    keep(app, people, "activity", 30)
    assert prune(app) == {"activity": 1}
    assert before_it not in ids_of(app, ActivityEvent)
    assert at_cut_off in ids_of(app, ActivityEvent)


def test_every_prune_that_removed_something_is_recorded_once(app, people, stream):
    keep(app, people, "activity", 30)
    keep(app, people, "logins", 30)
    prune(app)
    prune(app)  # nothing left to remove: nothing recorded
    with app.app_context():
        pruned = list(
            ActivityEvent.select()
            .where(ActivityEvent.verb == "tab.pruned")
            .order_by(ActivityEvent.id)
        )
    cut_off = (NOW - timedelta(days=30)).isoformat(sep=" ") + " UTC"
    assert [(e.object_id, e.actor_id, e.actor_name) for e in pruned] == [
        ("activity", None, "System"),
        ("logins", None, "System"),
    ]
    assert json.loads(pruned[0].changes) == {
        "records kept": [None, "30 days"],
        "cut-off": [None, cut_off],
        "rows": [None, len(stream["old"]["activity"])],
    }
    assert pruned[1].summary == f"3 sign-in records older than {cut_off} removed"


def test_forever_removes_nothing(app, people, stream):
    everything = {tab: ids_of(app, model) for tab, model in TABLES.items()}
    assert prune(app, now=NOW + timedelta(days=3650)) == {}  # no choice made: forever
    keep(app, people, "activity", 30)
    keep(app, people, "activity", None)
    assert prune(app, now=NOW + timedelta(days=3650)) == {}
    page = signed_in(app, "owner@example.com").get("/stream/settings").text
    assert page.count("Nothing: kept forever") == len(TABLES)
    for tab, model in TABLES.items():
        assert ids_of(app, model) >= everything[tab]
    with app.app_context():
        assert not ActivityEvent.select().where(ActivityEvent.verb == "tab.pruned").exists()


def test_a_minimum_raised_since_the_choice_still_holds(make_app, people, stream):
    app = make_app(PLUGINS_DISABLED="")
    keep(app, people, "activity", 30)
    raised = make_app(PLUGINS_DISABLED="", RETENTION_MIN_DAYS=50)
    assert prune(raised) == {"activity": 0}
    assert prune(raised, now=NOW + timedelta(days=11)) == {
        "activity": len(stream["old"]["activity"])
    }


def test_batches_commit_one_by_one(make_app, people, stream, monkeypatch):
    app = make_app(PLUGINS_DISABLED="", RETENTION_BATCH_ROWS=2, RETENTION_PAUSE_MS=0)
    keep(app, people, "activity", 30)
    feed = get_tab_in(app, "activity").feed
    batches, failing = [], [True]

    def dependants(ids):
        batches.append(list(ids))
        if len(batches) == 3 and failing[0]:
            raise RuntimeError("the database went away")
        retention.delete_audience(ids)

    monkeypatch.setattr(feed, "prune", retention.Prune(feed.prune.time, dependants))
    old = sorted(stream["old"]["activity"])
    with pytest.raises(RuntimeError):
        prune(app)
    # Two batches of two went, each committed; the third rolled back alone.
    assert [len(batch) for batch in batches] == [2, 2, 2]
    assert ids_of(app, ActivityEvent) & set(old) == set(old) - set(batches[0] + batches[1])
    assert {event for event, _ in audience_rows(app)} & set(batches[2]) != set()
    with app.app_context():
        (recorded,) = ActivityEvent.select().where(ActivityEvent.verb == "tab.pruned")
        assert json.loads(recorded.changes)["rows"] == [None, 4]
    batches.clear()
    failing[0] = False
    left = len(old) - 4
    assert prune(app) == {"activity": left}
    # Full batches, then a short one (or an empty read): none left.
    assert [len(batch) for batch in batches] == [2] * (left // 2) + [1] * (left % 2)
    assert not ids_of(app, ActivityEvent) & set(old)


def get_tab_in(app, name):
    """Return ``app``'s tab ``name``."""
    with app.app_context():
        return get_tab(name)


def test_the_hourly_task_and_the_command_prune(app, people, stream):
    keep(app, people, "logins", 30)
    keep(app, people, "invoices", 30)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["stream", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "logins: would remove 3 record(s) older than" in dry.output
    assert "invoices: would remove 3 record(s)" in dry.output
    assert ids_of(app, SignInAttempt) >= stream["old"]["logins"]
    with app.app_context():
        app.extensions["retention.tasks"]["prune"]()  # the queue runs it at once here
    assert not ids_of(app, SignInAttempt) & stream["old"]["logins"]
    assert not ids_of(app, invoices.Invoice) & stream["old"]["invoices"]
    again = runner.invoke(args=["stream", "prune"])
    assert again.exit_code == 0, again.output
    assert "logins: removed 0 record(s)" in again.output


@contextlib.contextmanager
def prune_lock_held_elsewhere(app):
    """Hold the database's prune lock as another process would: another descriptor of the
    lock file (SQLite), another session (PostgreSQL)."""
    with app.app_context():
        if is_sqlite():
            descriptor = os.open(f"{database.obj.database}-prune", os.O_RDWR | os.O_CREAT)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                os.close(descriptor)
            return
    other = psycopg2.connect(app.config["DATABASE_URL"])
    other.autocommit = True
    other.cursor().execute("SELECT pg_advisory_lock(%s, %s)", retention.PRUNE_LOCK_KEY)
    try:
        yield
    finally:
        # Unlock before closing: a closed connection's session ends on the server a moment
        # later, and a prune started in that moment would still find the lock taken.
        other.cursor().execute("SELECT pg_advisory_unlock(%s, %s)", retention.PRUNE_LOCK_KEY)
        other.close()


def test_a_prune_does_not_start_beside_one_still_running(app, people, stream):
    keep(app, people, "logins", 30)
    with prune_lock_held_elsewhere(app):
        with app.app_context():
            assert retention.prune_all(now=NOW) is None
            app.extensions["retention.tasks"]["prune"]()  # the next hour's run: nothing
        refused = app.test_cli_runner().invoke(args=["stream", "prune"])
        assert refused.exit_code == 1
        assert "another prune of this database is running" in refused.output
        assert ids_of(app, SignInAttempt) >= stream["old"]["logins"]
        # Counting needs no lock.
        dry = app.test_cli_runner().invoke(args=["stream", "prune", "--dry-run"])
        assert "logins: would remove 3 record(s)" in dry.output
    assert prune(app) == {"logins": 3}
