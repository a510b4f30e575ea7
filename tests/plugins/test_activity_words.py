"""The Activity tab in people's words: long texts as word diffs, values as the platform declares
them (a status's words, a colour's swatch, a time in the viewer's zone), a person by name, and
``verb:`` read as the rows say it. Everything is rendered from the record, which never changes.
"""

import json
import re

import pytest
from werkzeug.datastructures import MultiDict

from core import hookimpl
from core.db import database
from core.db import is_sqlite
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Team
from core.plugins import PluginError
from core.search.index import catch_up_now
from plugins.activity.changeset import row_line
from plugins.activity.fields import Field
from plugins.activity.fields import as_time
from plugins.activity.fields import declared
from plugins.activity.fields import shown
from plugins.activity.filters import parse_filters
from plugins.activity.queries import visible_events
from plugins.activity.wording import excerpt
from plugins.activity.wording import marked
from plugins.settings.models import TabGrant
from tests.conftest import sign_in

ROW = re.compile(r'<li class="row" data-row-id="(\d+)">(.*?)</li>', re.S)
OLD = (
    "We will deliver the first draft of the plan by Friday and review it with the whole team "
    "next week, before it goes to the client."
)
NEW = (
    "We will deliver the revised draft of the plan by Friday and review it with the whole team "
    "next week, before it goes to the client."
)


def row_of(html, event_id):
    """Return the HTML of the row of ``event_id`` in a page of rows."""
    rows = dict(ROW.findall(html))
    assert str(event_id) in rows, f"no row {event_id} in the page"
    return rows[str(event_id)]


def detail_of(client, event_id):
    """Return the detail view of ``event_id`` as its inline fragment."""
    response = client.get(f"/stream/activity/{event_id}", headers={"HX-Request": "true"})
    assert response.status_code == 200, response.text
    return response.text


def text_of(html):
    """Return what a person reads in ``html``: tags and visually hidden words left out."""
    html = re.sub(r'<span class="sr-only">.*?</span>', "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def record(app, actor, verb, ref, changes=None, **options):
    """Record one event in ``app``; return its id."""
    with app.test_request_context():
        return record_activity(actor, verb, ref, changes=changes, **options).id


# --- Word diffs ------------------------------------------------------------------------------


def test_a_row_shows_the_changed_words_with_a_few_words_either_side():
    line = str(excerpt(OLD, NEW))
    assert text_of(line) == "… will deliver the first revised draft of the …"
    assert '<del><span class="sr-only">removed: </span>first</del>' in line
    assert '<ins><span class="sr-only">added: </span>revised</ins>' in line


def test_changes_far_apart_are_shown_each_with_its_context():
    new = NEW.replace("Friday", "Monday").replace("client.", "client and the board.")
    line = text_of(excerpt(OLD, new))
    assert line == (
        "… will deliver the first revised draft of the plan by Friday Monday and review it … "
        "to the client and the board."
    )


def test_the_detail_marks_removed_words_before_and_added_words_after():
    before, after = marked("First draft.", "First draft.\nRevised 06 November.")
    assert str(before) == "First draft."
    assert str(after) == (
        'First draft.\n<ins><span class="sr-only">added: </span>Revised 06 November.</ins>'
    )


def test_an_added_sentence_ends_where_its_sentence_does():
    line = str(excerpt("It ends here.", "It ends here.\nA new line."))
    assert line == '… ends here.\n<ins><span class="sr-only">added: </span>A new line.</ins>'


def test_a_text_written_anew_reads_as_one_replacement_not_scattered_words():
    old = "First draft.\nRevised 06 November.\nRevised 21 November."
    line = text_of(excerpt(old, OLD))
    assert line == (
        "First draft. Revised 06 November. Revised 21 November. "
        "We will deliver the first draft of the plan by Friday and …"
    )
    assert str(excerpt(old, OLD)).count("<del>") == 1


def test_a_row_compares_a_long_middle_as_one_replacement_and_details_word_by_word():
    """A row shows three short runs at most: past MOST_COMPARED_IN_ROW differing words its
    diff stops (difflib's time grows with the product of both sides, on every page), while
    Details still marks each changed word."""
    old = " ".join(f"w{n}" for n in range(400))
    new = old.replace("w10 ", "x10 ").replace("w390", "x390")
    row = str(excerpt(old, new))
    assert row.count("<del>") == 1 and row.count("<ins>") == 1
    detail = str(marked(old, new)[0]) + str(marked(old, new)[1])
    assert detail.count("<del>") == 2 and detail.count("<ins>") == 2


def test_words_are_escaped():
    before, after = marked("<b>a</b> x", "<b>a</b> y")
    assert "<b>" not in str(before) + str(after) + str(excerpt("<i> x", "<i> y"))
    assert "&lt;b&gt;" in str(before)


def test_a_huge_text_is_compared_without_comparing_every_word_with_every_other():
    old = " ".join(f"w{n}" for n in range(20_000))
    new = old.replace("w10000 ", "changed ")
    assert text_of(excerpt(old, new)) == "… w9997 w9998 w9999 w10000 changed w10001 w10002 w10003 …"


# --- Values as declared, or as their shape says ---------------------------------------------


def test_values_read_as_people_read_them():
    status = Field("Status", {"in_progress": "In progress"})
    assert shown(status, "in_progress", None) == "In progress"
    plain = Field("Color")
    swatch = str(shown(plain, "#4f46e5", None))
    assert 'fill="#4f46e5"' in swatch and 'aria-hidden="true"' in swatch
    assert swatch.endswith("#4f46e5</span>") and "style=" not in swatch
    assert shown(plain, None, None) == "—" and shown(plain, ["a", "b"], None) == "a, b"
    assert "svg" not in str(shown(Field("Code", kind="text"), "#4f46e5", None))


def test_a_time_without_a_zone_is_read_as_utc_and_shown_in_the_viewers_zone():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    assert shown(Field("Due"), "2026-12-03 07:55:23.560041", paris) == "2026-12-03 08:55:23 CET"
    assert shown(Field("Due"), "2026-12-03T07:55:23+00:00", paris) == "2026-12-03 08:55:23 CET"
    assert shown(Field("Cut-off"), "2026-12-03 07:55:23 UTC", paris) == "2026-12-03 08:55:23 CET"
    # A time a person typed (no seconds) and a day stay as typed.
    assert shown(Field("Due"), "2026-12-03 07:55", paris) == "2026-12-03 07:55"
    assert as_time("2026-12-03") is None and as_time("2026-13-03 07:55:23") is None


# --- On the tab ----------------------------------------------------------------------------


def test_a_long_text_change_reads_as_its_changed_words_in_the_row_and_the_detail(
    app, client, people
):
    admin = people["admin@example.com"]
    event_id = record(
        app, admin, "document.updated", Ref("document", 9, "Plan"), {"body": [OLD, NEW]}
    )
    sign_in(client, "admin@example.com")
    row = row_of(client.get("/stream/activity").text, event_id)
    assert "Text: … will deliver the first revised draft of the …" in text_of(row)
    assert '<ins><span class="sr-only">added: </span>revised</ins>' in row
    detail = detail_of(client, event_id)
    assert '<td class="words">We will deliver the <del>' in detail
    assert '<ins><span class="sr-only">added: </span>revised</ins> draft' in detail
    with app.app_context():
        stored = ActivityEvent.get_by_id(event_id)
        # The record is as recorded: its summary cut both sides, and it stays so.
        assert stored.summary.startswith("Body: We will deliver the first draft")
        assert json.loads(stored.changes) == {"body": [OLD, NEW]}


def test_a_status_reads_as_its_form_says_it(app, client, people):
    admin = people["admin@example.com"]
    event_id = record(
        app, admin, "task.updated", Ref("task", 4, "Q3"), {"status": ["open", "in_progress"]}
    )
    sign_in(client, "admin@example.com")
    row = row_of(client.get("/stream/activity").text, event_id)
    assert "Status: Open → In progress" in text_of(row)
    assert "in_progress" not in text_of(row)
    detail = detail_of(client, event_id)
    assert "<td>Open</td><td>In progress</td>" in detail


def test_a_colour_has_a_swatch_and_its_value(app, client, people):
    admin = people["admin@example.com"]
    with app.app_context():
        sales = Team.get(Team.name == "Sales")
    changes = {"color": ["#4f46e5", "#067647"]}
    event_id = record(app, admin, "team.updated", Ref("team", sales.id, "Sales"), changes)
    sign_in(client, "admin@example.com")
    row = row_of(client.get("/stream/activity").text, event_id)
    assert text_of(row).count("Color: #4f46e5 → #067647") == 1
    assert 'fill="#4f46e5"' in row and 'fill="#067647"' in row
    assert "style=" not in row
    assert 'fill="#067647"' in detail_of(client, event_id)


def test_a_team_hidden_from_the_viewer_stays_hidden_in_the_words(app, client, people):
    admin = people["admin@example.com"]
    with app.app_context():
        sales = Team.get(Team.name == "Sales")
        TabGrant.create(tab="activity", user=people["sales@example.com"].id)
    changes = {"color": ["#4f46e5", "#067647"], "description": ["Sales team", OLD]}
    ref, audience = Ref("team", sales.id, "Sales"), Audience(teams={sales.id})
    event_id = record(app, admin, "team.updated", ref, changes, audience=audience)
    sign_in(client, "sales@example.com")  # a Salesperson, in Sales: team names are hidden
    row = row_of(client.get("/stream/activity").text, event_id)
    assert "edited team “a team” Color changed; Description changed" in text_of(row)
    detail = detail_of(client, event_id)
    for page in (row, detail):
        assert "4f46e5" not in page and "deliver" not in page and "Sales team" not in page


def test_a_time_in_a_change_is_shown_in_the_viewers_zone(app, client, people):
    admin = people["admin@example.com"]
    with app.app_context():
        admin.time_zone = "Europe/Paris"
        admin.save()
    changes = {"due": [None, "2026-12-03 07:55:23.560041"]}
    event_id = record(app, admin, "task.updated", Ref("task", 4, "Q3"), changes)
    sign_in(client, "admin@example.com")
    row = row_of(client.get("/stream/activity").text, event_id)
    assert "Due: 2026-12-03 08:55:23 CET" in text_of(row)
    assert "<td>2026-12-03 08:55:23 CET</td>" in detail_of(client, event_id)


def test_an_unlocked_person_is_named_not_their_email(app, client, people):
    admin, sam = people["admin@example.com"], people["sales@example.com"]
    # As the Logins tab's Unlock records it: the account by the name typed, an email.
    unlocked = record(
        app,
        admin,
        "login.unlocked",
        Ref("user", sam.id, sam.email),
        summary=f"lifted the lock of account {sam.email}",
    )
    # The same without a summary reads in the default sentence.
    plain = record(app, admin, "login.unlocked", Ref("user", sam.id, sam.email))
    sign_in(client, "admin@example.com")
    page = client.get("/stream/activity").text
    said = f"lifted the lock of account {sam.name} ({sam.email})"
    assert said in text_of(row_of(page, unlocked))
    assert f"unlocked User “{sam.name}”" in text_of(row_of(page, plain))
    assert f"“{sam.email}”" not in page
    assert said in text_of(client.get(f"/stream/activity/{unlocked}").text)
    assert f"unlocked User “{sam.name}”" in text_of(client.get(f"/stream/activity/{plain}").text)
    with app.app_context():  # the records stay as recorded
        stored = ActivityEvent.get_by_id(unlocked)
        assert (stored.object_label, stored.summary) == (
            sam.email,
            f"lifted the lock of account {sam.email}",
        )


def test_a_person_no_longer_there_keeps_their_email(app, client, people):
    admin = people["admin@example.com"]
    record(app, admin, "login.unlocked", Ref("user", 999, "gone@example.com"))
    sign_in(client, "admin@example.com")
    assert "unlocked User “gone@example.com”" in text_of(client.get("/stream/activity").text)


def test_a_plugin_phrasing_a_person_gets_their_name(make_app, people):
    seen = []

    class Phrasing:
        @hookimpl
        def describe_event(self, event):
            seen.append((event.object_label, event.summary))

    app = make_app(plugins=[Phrasing()])
    admin, sam = people["admin@example.com"], people["sales@example.com"]
    record(app, admin, "user.reminded", Ref("user", sam.id, sam.email), summary=f"to {sam.email}")
    client = app.test_client()
    sign_in(client, "admin@example.com")
    client.get("/stream/activity")
    assert (sam.name, f"to {sam.name} ({sam.email})") in seen


def test_a_summary_in_the_recorders_own_words_is_kept(app, client, people):
    admin = people["admin@example.com"]
    event_id = record(
        app,
        admin,
        "task.updated",
        Ref("task", 4, "Q3"),
        {"status": ["open", "done"]},
        summary="closed by the weekly sweep",
    )
    sign_in(client, "admin@example.com")
    row = row_of(client.get("/stream/activity").text, event_id)
    assert "closed by the weekly sweep" in row and "Status:" not in row


# --- The platform declares once -------------------------------------------------------------


def test_a_plugin_declares_how_its_fields_read(make_app, people):
    class Notes:
        @hookimpl
        def describe_fields(self):
            return {"note": {"state": {"label": "Stage", "choices": [("wip", "Being written")]}}}

    app = make_app(plugins=[Notes()])
    with app.test_request_context():
        assert declared()["note"]["state"] == Field("Stage", {"wip": "Being written"})
        assert str(row_line("note", {"state": ["wip", "x"]}, None)) == "Stage: Being written → x"
        # The workspace's own, from its forms' choices.
        assert declared()["task"]["status"].choices["in_progress"] == "In progress"


@pytest.mark.parametrize(
    "declaration",
    [
        {"note": {"state": {"kind": "colour2"}}},
        {"note": {"state": {"colour": "red"}}},
        {"note": ["state"]},
        {"note": {"state": {"choices": 3}}},
    ],
)
def test_a_malformed_declaration_stops_start_up_naming_it(make_app, declaration):
    class Notes:
        @hookimpl
        def describe_fields(self):
            return declaration

    with pytest.raises(PluginError, match="describe_fields: note"):
        make_app(plugins=[Notes()])


# --- verb: as rows say it --------------------------------------------------------------------


@pytest.fixture
def verbs(app, people):
    """Record one edit of a task, one of a company, a creation and a completion."""
    admin = people["admin@example.com"]
    return {
        "task edit": record(app, admin, "task.updated", Ref("task", 1, "A"), {"title": ["a", "A"]}),
        "company edit": record(app, admin, "company.updated", Ref("company", 2, "B")),
        "created": record(app, admin, "task.created", Ref("task", 3, "C")),
        "completed": record(app, admin, "task.completed", Ref("task", 1, "A")),
    }


def ids_for(client, **query):
    response = client.get("/stream/activity", query_string=query)
    assert response.status_code == 200, response.text
    return {int(row_id) for row_id, _ in ROW.findall(response.text)}


def test_verb_takes_the_words_rows_say(client, verbs):
    sign_in(client, "owner@example.com")
    edits = {verbs["task edit"], verbs["company edit"]}
    assert ids_for(client, q="verb:edited") == edits
    assert ids_for(client, q="verb:Edited") == edits
    assert ids_for(client, q="verb:updated") == edits
    assert ids_for(client, verb="edited") == edits
    assert ids_for(client, q="verb:task.updated") == {verbs["task edit"]}
    assert ids_for(client, q="verb:task.edited") == {verbs["task edit"]}
    assert ids_for(client, q="verb:edited verb:task.created") == edits | {verbs["created"]}
    assert ids_for(client, q="verb:completed") == {verbs["completed"]}
    assert verbs["task edit"] not in ids_for(client, q="-verb:edited")
    assert verbs["created"] in ids_for(client, q="-verb:edited")
    # As action: reads them: one way of reading an action.
    assert ids_for(client, q="action:edited") == edits


@pytest.mark.parametrize(
    "query",
    [{"q": "verb:edtied"}, {"q": "verb:task.edtied"}, {"verb": "edtied"}, {"q": "action:edtied"}],
)
def test_an_unknown_verb_or_action_is_refused_saying_what_is_expected(client, verbs, query):
    sign_in(client, "owner@example.com")
    response = client.get("/stream/activity", query_string=query)
    assert response.status_code == 400
    assert "expected" in response.text and "edited" in response.text
    assert "edtied" in response.text


def test_a_kind_not_recorded_yet_is_taken_when_its_action_is_known(client, verbs):
    sign_in(client, "owner@example.com")
    assert ids_for(client, q="verb:invoice.deleted") == set()
    assert ids_for(client, q="verb:deleted") == set()


@pytest.mark.parametrize("query", [{"verb": ["edited"]}, {"verb": ["edited"], "actor": ["7"]}])
def test_verb_words_read_newest_first_through_an_index_without_sorting(app, people, query):
    """As ``action:`` does (``test_every_page_plan_reads_newest_first_without_sorting``)."""
    if not is_sqlite():
        pytest.skip("PostgreSQL plans from its statistics")
    with app.test_request_context():
        catch_up_now()  # the steady state: the index holds every event (else see _split)
        args = MultiDict([(key, value) for key, values in query.items() for value in values])
        page = visible_events(people["admin@example.com"], parse_filters(args), limit=51)
        sql, params = page.sql()
        plan = [row[3] for row in database.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert not [step for step in plan if "TEMP B-TREE" in step], plan
