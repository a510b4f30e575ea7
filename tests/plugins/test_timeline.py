"""Timelines (plugins/timeline): one object's or one person's rows of every tab the viewer sees,
merged in time order and paged with a cursor, each tab's rows exactly those its own list shows
that viewer under the same filters. SQLite and PostgreSQL (but the merge's own property test,
which needs no database)."""

import html
import random
import re
from datetime import datetime
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from core.auth.signins import record_sign_in_attempt
from core.db import clock_at
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.events.reads import record_access
from core.notifications import Notification
from core.notifications import notify
from core.people import Role
from core.people import Team
from core.tabs import get_tab
from core.testing import sign_in
from plugins.email.models import EmailMessage
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant
from plugins.timeline import merge
from plugins.timeline import sources
from plugins.timeline import views
from tests.examples import workspace

workspace()  # the mail templates are the workspace example's

T0 = datetime(2026, 11, 2, 9, 0)
ACME = Ref("company", 7, "Acme Corp")
OTHER = Ref("company", 8, "Globex")
ENTRY = re.compile(r'class="timeline-entry" data-tab="(\w+)">.*?data-row-id="(\d+)"', re.S)
NEXT = re.compile(r'id="load-more"[^>]*hx-get="([^"]+)"')
HTMX = {"HX-Request": "true"}


def note(recipients, subject, sender=None, private=False):
    """Return a notification (any template pair would do: the task-commented one)."""
    return Notification(
        kind="private_message" if private else "test.note",
        recipients=tuple(recipients),
        subject=subject,
        template="workspace/mail/task_commented",
        context={"actor_name": "Tester", "title": "A task", "body": subject, "link": None},
        sender=sender,
        private=private,
    )


def grant(app, tab, role_name, scope=None):
    """Grant ``tab`` to a role, with ``scope`` (else the role's default, ``related``)."""
    with app.app_context():
        role = Role.get(Role.name == role_name)
        TabGrant.create(tab=tab, role=role)
        if scope:
            RoleScope.create(role=role, tab=tab, scope=scope)


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def entries_of(page):
    """Return the ``(tab, row id)`` of every entry of a timeline page or fragment."""
    return [(tab, int(row_id)) for tab, row_id in ENTRY.findall(page)]


def paragraph(page, row_id, name, tab=None):
    """Return the ``<p class="<name>">`` of the row ``row_id`` on ``page``, a tab's list or
    (``tab`` given) a timeline, whose rows of different tabs may share an id; None if absent."""
    marker = f'<li class="timeline-entry" data-tab="{tab}">' if tab else "<li "
    for chunk in page.split(marker)[1:]:
        chunk = chunk.split("</li>", 1)[0]
        if f'data-row-id="{row_id}"' in chunk:
            found = re.search(rf'<p class="{name}">.*?</p>', chunk, re.S)
            return found.group(0) if found else None
    return None


def walk(client, url):
    """Return every entry of the timeline at ``url``: its first page, then each next page as
    the "Load more" sentinel asks for it (htmx), and how many pages that took."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    found, pages = entries_of(page.text), 1
    while (following := NEXT.search(page.text)) is not None:
        assert pages < 50, "the pages never end"
        page = client.get(html.unescape(following.group(1)), headers=HTMX)
        assert page.status_code == 200, page.text
        assert "<html" not in page.text  # the next rows alone
        found += entries_of(page.text)
        pages += 1
    return found, pages


# --- the merge itself: a property, no database ------------------------------------------------


def fake_page(rows, after, size):
    """Read ``rows`` (newest first) as ``Feed.page`` does: below ``after``, ``size`` at most."""
    below = [row for row in rows if after is None or row.id < after]
    return below[:size], len(below) > size


def paged(lists, size):
    """Merge ``lists`` (``(tab, order, rows)``) a page of ``size`` at a time, as the views do."""
    positions, found = None, []
    for _ in range(sum(len(rows) for _, _, rows in lists) + 2):  # a stuck cursor: a failure
        streams = []
        for index, (tab, order, rows) in enumerate(lists):
            start = None if positions is None else positions[index]
            page, more = ([], False) if start == merge.DONE else fake_page(rows, start, size)
            streams.append(merge.Stream(tab, order, page, more, lambda row: row.at))
        entries, positions = merge.merge(streams, size)
        assert len(entries) == size or all(p == merge.DONE for p in positions)
        found += [(entry.tab, entry.row.id) for entry in entries]
        if all(p == merge.DONE for p in positions):
            return found
    raise AssertionError("the pages never end")


@st.composite
def source_lists(draw):
    """Sources of up to three tabs, two of them possibly of the same tab and sharing records
    (a message a person sent to themselves), each record's time drawn freely (an event sent
    later by another system may say it happened earlier)."""
    records = {}
    for tab in ("activity", "email", "logins"):
        ids = draw(st.sets(st.integers(1, 60), max_size=25))
        records[tab] = {i: draw(st.integers(0, 30)) for i in ids}
    lists = []
    for tab, order in (("activity", 10), ("activity", 10), ("email", 20), ("logins", 30)):
        chosen = draw(st.sets(st.sampled_from(sorted(records[tab]) or [0]), max_size=25))
        rows = [SimpleNamespace(id=i, at=records[tab][i]) for i in chosen if i in records[tab]]
        lists.append((tab, order, sorted(rows, key=lambda row: -row.id)))
    return lists


@settings(max_examples=300, derandomize=True, deadline=None)
@given(lists=source_lists(), size=st.integers(1, 12))
def test_pages_of_any_size_make_the_same_merge_with_each_record_once(lists, size):
    whole = paged(lists, 10_000)
    assert paged(lists, size) == whole
    wanted = {(tab, row.id) for tab, _, rows in lists for row in rows}
    assert sorted(whole) == sorted(wanted)  # every record, each once
    for tab in ("activity", "email", "logins"):  # each tab as it lists them: newest id first
        ids = [row_id for found, row_id in whole if found == tab]
        assert ids == sorted(ids, reverse=True)


def test_tabs_whose_times_follow_their_ids_merge_in_time_order():
    rng = random.Random(3)
    lists = []
    for tab, order in (("activity", 10), ("email", 20), ("logins", 30)):
        times = sorted(rng.sample(range(1000), 40))
        rows = [SimpleNamespace(id=i + 1, at=at) for i, at in enumerate(times)]
        lists.append((tab, order, rows[::-1]))
    times = {(tab, row.id): row.at for tab, _, rows in lists for row in rows}
    found = paged(lists, 7)
    assert [times[key] for key in found] == sorted(times.values(), reverse=True)


def test_a_cursor_is_read_strictly():
    assert merge.decode(merge.encode([812, 0, 77]), 3) == [812, 0, 77]
    for raw in ("", "1.2", "1.2.3.4", "a.b.c", "1..2", "-1.2.3", "1.2.9007199254740992", "².1.1"):
        assert merge.decode(raw, 3) is None, raw


# --- a Company's timeline ----------------------------------------------------------------


@pytest.fixture
def company(app, people):
    """Acme Corp's history and the mail naming it, interleaved in time, with rows that do not
    belong on its timeline (another company, mail not naming it). Returns the ids and times."""
    owner, pm = people["owner@example.com"], people["pm@example.com"]
    dana, sam = people["teammate@example.com"], people["sales@example.com"]
    made = {"events": {}, "mail": {}, "related": set()}
    with app.app_context():
        for n in range(66):
            at = T0 + timedelta(minutes=n)
            with clock_at(at):
                if n % 3 == 2:  # mail naming the company, to Dana (her own) or to Sam
                    to = dana if n % 2 else sam
                    (message_id,) = notify(note([to], f"Acme Corp: note {n}"))
                    made["mail"][message_id] = at
                    if to is dana:
                        made["related"].add(("email", message_id))
                else:  # by Priya (Delivery: Dana's team) or by the owner (Leadership)
                    actor = pm if n % 2 else owner
                    event = record_activity(actor, "company.updated", ACME, summary=f"step {n}")
                    made["events"][event.id] = at
                    if actor is pm:
                        made["related"].add(("activity", event.id))
        with clock_at(T0 + timedelta(hours=5)):
            record_activity(owner, "company.updated", OTHER)
            notify(note([dana], "Globex: nothing about the other one"))
    return made


def expected_order(company):
    """Return the company timeline's entries as they should read: newest first."""
    times = {("activity", i): at for i, at in company["events"].items()}
    times |= {("email", i): at for i, at in company["mail"].items()}
    return sorted(times, key=lambda key: times[key], reverse=True)


def test_a_company_timeline_merges_its_events_and_mail_newest_first_over_pages(app, company):
    owner = client_for(app, "owner@example.com")
    found, pages = walk(owner, "/stream/timeline/company/7")
    assert pages == 2  # 66 entries, 50 a page: "Load more" once
    assert found == expected_order(company)
    first = owner.get("/stream/timeline/company/7").text
    assert "<title>Timeline of Company “Acme Corp” · Activity Stream</title>" in first
    assert '<h2 id="timeline-title">Timeline of Company “Acme Corp”</h2>' in first
    # Each entry says its tab, and reads as its tab words it.
    assert first.count('<span class="timeline-tab badge">Activity</span>') == len(
        [e for e in entries_of(first) if e[0] == "activity"]
    )
    # Each row reads exactly as its tab's own list words it.
    activity = owner.get("/stream/activity?object=company:7").text
    email = owner.get('/stream/email?q="Acme Corp"').text
    for tab, row_id in entries_of(first)[:12]:
        part = "sentence" if tab == "activity" else "summary"
        shown = paragraph(first, row_id, part, tab)
        assert shown and shown == paragraph(activity if tab == "activity" else email, row_id, part)
    assert "Acme Corp: note 65" in first
    assert "Globex" not in first


def test_without_javascript_load_more_opens_the_timeline_from_there(app, company):
    owner = client_for(app, "owner@example.com")
    first = owner.get("/stream/timeline/company/7").text
    rest = owner.get(html.unescape(NEXT.search(first).group(1)))
    assert rest.status_code == 200 and "<html" in rest.text  # the page, from the cursor on
    assert entries_of(first) + entries_of(rest.text) == expected_order(company)


def test_a_teammate_sees_only_the_rows_related_to_them(app, company):
    grant(app, "activity", "Teammate")
    grant(app, "email", "Teammate")
    dana = client_for(app, "teammate@example.com")
    found, _ = walk(dana, "/stream/timeline/company/7")
    assert set(found) == company["related"]
    assert found == [key for key in expected_order(company) if key in company["related"]]
    # Exactly what each tab lists her for the same filters.
    activity = dana.get("/stream/activity?object=company:7").text
    email = dana.get('/stream/email?q="Acme Corp"').text
    assert [i for tab, i in found if tab == "activity"] == [
        int(i) for i in re.findall(r'data-row-id="(\d+)"', activity)
    ]
    assert [i for tab, i in found if tab == "email"] == [
        int(i) for i in re.findall(r'data-row-id="(\d+)"', email)
    ]


def test_a_role_without_the_email_tab_gets_no_mail_at_all(app, company):
    grant(app, "activity", "Project Manager", scope="all")
    priya = client_for(app, "pm@example.com")
    found, _ = walk(priya, "/stream/timeline/company/7")
    assert {tab for tab, _ in found} == {"activity"}
    assert len(found) == len(company["events"])
    page = priya.get("/stream/timeline/company/7").text
    assert "Acme Corp: note" not in page and "Email" not in re.sub(r"<title>.*?</title>", "", page)


def test_a_label_without_words_finds_no_mail(app, people):
    owner = people["owner@example.com"]
    with app.app_context():
        record_activity(owner, "company.created", Ref("company", 9, "+++"))
        notify(note([people["teammate@example.com"]], "Anything at all"))
    page = client_for(app, "owner@example.com").get("/stream/timeline/company/9").text
    assert {tab for tab, _ in entries_of(page)} == {"activity"}


# --- answers: as the object's history on the Activity tab, and deny by default ------------


def test_it_answers_as_the_object_history_does_at_the_gate(app, company):
    grant(app, "email", "Teammate")  # Email, but not Activity
    for email in ("teammate@example.com", "client@example.com", "freelancer@example.com"):
        client = client_for(app, email)
        history = client.get("/stream/activity?object=company:7")
        for url in ("/stream/timeline/company/7", "/stream/timeline/person/1"):
            assert client.get(url).status_code == history.status_code == 403, (email, url)
            rows = client.get(f"{url}/rows?after=1.1", headers=HTMX)
            assert rows.status_code == 403, (email, url)
    signed_out = app.test_client().get("/stream/timeline/company/7")
    assert signed_out.status_code == 302 and "/login?next=" in signed_out.headers["Location"]


def test_an_object_the_viewer_may_not_see_is_no_object_at_all(app, people, company):
    grant(app, "activity", "Teammate")
    owner = people["owner@example.com"]
    with app.app_context():  # only the owner's team relates to this one
        record_activity(owner, "company.created", Ref("company", 11, "Initech"))
    dana = client_for(app, "teammate@example.com")
    unseen = dana.get("/stream/timeline/company/11")
    missing = dana.get("/stream/timeline/company/12")
    assert unseen.status_code == missing.status_code == 404
    message = "There is no such Company, or it does not relate to you."
    assert message in unseen.text and message in missing.text
    assert "Initech" not in unseen.text
    assert dana.get("/stream/timeline/company/11/rows?after=1.1").status_code == 404
    assert dana.get("/stream/timeline/company/7").status_code == 200  # Priya's events: hers
    owner_client = client_for(app, "owner@example.com")
    assert owner_client.get("/stream/timeline/company/11").status_code == 200
    for url in (
        "/stream/timeline/no_such_type/7",
        "/stream/timeline/" + "x" * 33 + "/7",
        "/stream/timeline/company/" + "9" * 65,
        "/stream/timeline/a:b/7",
        "/stream/timeline/person/99999",
        "/stream/timeline/person/0",
    ):
        assert owner_client.get(url).status_code == 404, url


def test_a_malformed_cursor_is_a_400_naming_after(app, company):
    owner = client_for(app, "owner@example.com")
    for after in ("", "1", "1.2.3", "x.y", "1.-2", "9" * 20 + ".1"):
        answer = owner.get(f"/stream/timeline/company/7/rows?after={after}", headers=HTMX)
        assert answer.status_code == 400 and "after:" in answer.text, after
    answer = owner.get("/stream/timeline/person/1/rows?after=1.2")
    assert answer.status_code == 400 and "after: expected 5 whole numbers" in answer.text


def test_a_person_as_an_object_is_their_own_timeline(app, people):
    owner = client_for(app, "owner@example.com")
    dana = people["teammate@example.com"]
    answer = owner.get(f"/stream/timeline/user/{dana.id}")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/stream/timeline/person/{dana.id}")


# --- a person's timeline -----------------------------------------------------------------


@pytest.fixture
def person(app, people):
    """Dana's history across the tabs, times out of id order, and rows that are not hers."""
    owner, pm, dana = (
        people[e] for e in ("owner@example.com", "pm@example.com", "teammate@example.com")
    )
    fox, sam = people["fox@example.com"], people["sales@example.com"]
    rng = random.Random(11)
    with app.app_context():
        for n in range(24):
            at = T0 + timedelta(minutes=rng.randrange(600))
            with clock_at(at):
                kind = n % 6
                if kind == 0:
                    record_activity(dana, "task.updated", Ref("task", n, f"Task {n}"))
                elif kind == 1:
                    record_activity(pm, "user.updated", Ref("user", dana.id, dana.name))
                elif kind == 2:
                    notify(note([dana], f"To Dana {n}"))
                elif kind == 3:
                    notify(note([fox], f"From Dana {n}", sender=dana, private=n % 4 == 3))
                elif kind == 4:
                    record_sign_in_attempt(dana.email, dana, "signed_in", at=at)
                else:
                    notify(note([dana], f"Dana to herself {n}", sender=dana))
        record_activity(sam, "task.updated", Ref("task", 99, "Not hers"))
        record_sign_in_attempt(sam.email, sam, "signed_in")
        # Read by the owner, about Dana: an access event, for the Super Admin and Admins only.
        record_access(
            owner, "settings.previewed", Ref("user", dana.id, dana.name), once_within=None
        )
    return dana


def tab_rows(app, viewer, tab_name, params):
    """Return the ids ``tab_name``'s whole list shows ``viewer`` under ``params`` (its Feed)."""
    feed = get_tab(tab_name).feed
    filters = feed.filters.parse(MultiDict(params), viewer)
    return {row.id for row in feed.read(feed.records(viewer, filters))}


def expected_person_rows(app, viewer, dana):
    """Return what Dana's timeline must hold for ``viewer``: each tab's own lists, for the
    tabs the viewer sees."""
    with app.test_request_context():
        seen = sources.visible(viewer)
        wanted = set()
        for source in sources.PERSON:
            if source.tab in seen:
                params = source.params(sources.Subject("person", str(dana.id), dana.name))
                wanted |= {(source.tab, i) for i in tab_rows(app, viewer, source.tab, params)}
    return wanted


def test_a_person_timeline_is_their_rows_of_every_tab_once_each(app, people, person):
    found, _ = walk(client_for(app, "owner@example.com"), f"/stream/timeline/person/{person.id}")
    owner = people["owner@example.com"]
    assert len(found) == len(set(found))
    assert set(found) == expected_person_rows(app, owner, person)
    assert {tab for tab, _ in found} == {"activity", "email", "logins"}
    with app.app_context():
        private = {m.id for m in EmailMessage.select().where(EmailMessage.private == True)}  # noqa: E712
        previewed = ActivityEvent.get(ActivityEvent.verb == "settings.previewed").id
    assert private and not private & {i for tab, i in found if tab == "email"}
    assert ("activity", previewed) in found  # the owner sees the access events


@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=30))
def test_paging_loses_and_repeats_nothing_whatever_the_page_sizes(app, people, person, sizes):
    owner = people["owner@example.com"]
    with app.test_request_context():
        subject = views.person_subject(person.id)
        whole, positions, _ = views.read_page(owner, subject, size=10_000)
        assert positions is None
        found, positions, turns = [], None, 0
        while True:
            size = sizes[turns % len(sizes)]
            entries, positions, _ = views.read_page(owner, subject, positions, size=size)
            found += [(entry.tab, entry.row.id) for entry in entries]
            turns += 1
            if positions is None:
                break
            assert turns < 200, "the pages never end"
            assert len(entries) == size  # a page is full until the end
    assert found == [(entry.tab, entry.row.id) for entry in whole]


def test_logins_only_for_those_who_see_the_logins_tab(app, people, person):
    grant(app, "activity", "Project Manager")  # Priya: Delivery, with Dana
    url = f"/stream/timeline/person/{person.id}"
    found, _ = walk(client_for(app, "pm@example.com"), url)
    assert found and "logins" not in {tab for tab, _ in found}
    assert "email" not in {tab for tab, _ in found}
    grant(app, "logins", "Project Manager")
    found, _ = walk(client_for(app, "pm@example.com"), url)
    assert {tab for tab, _ in found} == {"activity", "logins"}
    assert set(found) == expected_person_rows(app, people["pm@example.com"], person)


def test_access_events_stay_with_the_super_admin_and_admins(app, people, person):
    grant(app, "activity", "Project Manager", scope="all")
    with app.app_context():
        previewed = ActivityEvent.get(ActivityEvent.verb == "settings.previewed").id
    url = f"/stream/timeline/person/{person.id}"
    priya, _ = walk(client_for(app, "pm@example.com"), url)
    admin, _ = walk(client_for(app, "admin@example.com"), url)
    assert ("activity", previewed) in admin
    assert ("activity", previewed) not in priya
    assert {i for tab, i in priya if tab == "activity"} == {
        i for tab, i in admin if tab == "activity"
    } - {previewed}


def test_a_team_name_stays_hidden_and_is_not_searched_for_those_who_may_not_see_it(app, people):
    pm, dana = people["pm@example.com"], people["teammate@example.com"]
    grant(app, "activity", "Teammate")
    grant(app, "email", "Teammate")
    grant(app, "activity", "Project Manager")
    grant(app, "email", "Project Manager")
    with app.app_context():
        team = Team.get(Team.name == "Delivery")
        record_activity(
            pm, "team.updated", Ref("team", team.id, team.name), audience=Audience(users={dana.id})
        )
        notify(note([dana], "Delivery kick-off"))
    url = f"/stream/timeline/team/{team.id}"
    dana_page = client_for(app, "teammate@example.com").get(url).text
    assert "Timeline of Team “a team”" in dana_page
    assert "Delivery" not in dana_page
    assert {tab for tab, _ in entries_of(dana_page)} == {"activity"}
    priya_page = client_for(app, "pm@example.com").get(url).text
    assert "Timeline of Team “Delivery”" in priya_page
    assert {tab for tab, _ in entries_of(priya_page)} == {"activity", "email"}


# --- links in ----------------------------------------------------------------------------


def test_the_person_page_links_their_timeline_for_those_who_see_activity(app, people):
    dana = people["teammate@example.com"]
    link = f'href="/stream/timeline/person/{dana.id}"'
    owner = client_for(app, "owner@example.com")
    assert link in owner.get(f"/people/{dana.id}").text
    with app.app_context():
        TabGrant.delete().where(TabGrant.tab == "activity").execute()
    admin = client_for(app, "admin@example.com")  # an Admin who no longer sees Activity
    page = admin.get(f"/people/{dana.id}")
    assert page.status_code == 200 and link not in page.text


def test_timeline_url_names_a_timeline_only_where_there_can_be_one(app, people):
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    with app.test_request_context():
        url = views.timeline_url
        assert url("company", 7, owner) == "/stream/timeline/company/7"
        assert url("user", dana.id, owner) == f"/stream/timeline/person/{dana.id}"
        assert url("company", "a/b", owner) is None
        assert url("x" * 33, 1, owner) is None
        assert url("company", 7, dana) is None  # Dana does not see the Activity tab


SEGMENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#\x00"), max_size=80
)


@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=SEGMENT, object_id=SEGMENT, after=st.text(max_size=60))
def test_bad_input_is_a_4xx_never_a_500(app, people, kind, object_id, after):
    with app.app_context():
        if not ActivityEvent.select().exists():
            record_activity(people["owner@example.com"], "company.created", ACME)
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 302
    for path in (
        f"/stream/timeline/{quote(kind, safe='')}/{quote(object_id, safe='')}",
        f"/stream/timeline/company/7/rows?after={quote(after, safe='')}",
        f"/stream/timeline/person/1/rows?after={quote(after, safe='')}",
    ):
        answer = client.get(path, headers=HTMX)
        assert answer.status_code < 500, path
        if answer.status_code == 400:
            assert "after:" in answer.text, path


def test_a_source_whose_filter_a_tab_would_refuse_or_ignore_gives_nothing(app, people):
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    subject = sources.Subject("person", str(dana.id), dana.name)
    with app.test_request_context():
        email = sources.visible(owner)["email"]
        # A refused filter would be left out of the list, the rest kept: a wider list.
        wider = {"recipient": str(dana.id), "status": "lost"}
        for params in ({"recipient": "not-a-number"}, wider, {"no_such_filter": "1"}, {}):
            source = sources.Source("email", "queued_at", lambda s, p=params: p)
            assert source.filters(email, subject, owner) is None, params
        assert sources.PERSON[2].filters(email, subject, owner).recipients == [dana.id]
        assert sources.phrase("+++") is None and sources.phrase("Acme") == '"Acme"'


@pytest.mark.parametrize("disabled", ["activity", "timeline"])
def test_without_the_activity_tab_or_the_timelines_there_is_no_timeline(make_app, people, disabled):
    app = make_app(PLUGINS_DISABLED=disabled)
    dana = people["teammate@example.com"]
    with app.app_context():
        record_activity(people["owner@example.com"], "company.created", ACME)
    owner = client_for(app, "owner@example.com")
    assert owner.get("/stream/timeline/company/7").status_code == 404
    assert owner.get(f"/stream/timeline/person/{dana.id}").status_code == 404
    person_page = owner.get(f"/people/{dana.id}")
    assert person_page.status_code == 200 and "/stream/timeline/" not in person_page.text


def test_a_link_into_the_panel_gets_the_panel_its_title_and_the_tab_bar(app, company):
    owner = client_for(app, "owner@example.com")
    answer = owner.get("/stream/timeline/company/7", headers={**HTMX, "HX-Target": "panel"})
    assert answer.status_code == 200 and "<html" not in answer.text
    assert "<title>Timeline of Company “Acme Corp” · Activity Stream</title>" in answer.text
    assert '<section id="panel"' in answer.text and 'hx-swap-oob="true"' in answer.text
    assert entries_of(answer.text) == expected_order(company)[:50]
