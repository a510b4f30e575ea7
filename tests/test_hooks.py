"""Every hook, called through a throwaway plugin registered for one test, with its effect checked.

``test_every_hook_has_a_test_here`` fails when a hook in ``core/hookspecs.py`` has no
``test_hook_<name>`` below, so a new hook cannot ship untested.
"""

import json

import peewee
import pytest
from flask import url_for
from markupsafe import Markup

from core import hookimpl
from core.db import BaseModel
from core.db import database
from core.events import ActivityEvent
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.migrations import Migration
from core.migrations import create_tables
from core.notifications import Notification
from core.notifications import notify
from core.people import Team
from core.people import team_label
from core.plugins import PluginError
from core.plugins import hooks
from core.shell import Link
from core.tabs import Tab
from core.tabs import get_tab
from core.tabs import row_scope
from core.tabs import visible_tabs
from plugins.people.teams import delete_team
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.core.test_hookspecs import HOOKS


class Note(BaseModel):
    """A throwaway plugin's table."""

    text = peewee.CharField()


def test_every_hook_has_a_test_here():
    tested = {name[len("test_hook_") :] for name in globals() if name.startswith("test_hook_")}
    assert sorted(set(HOOKS) - tested) == []


def test_hook_register_models(make_app):
    class Plugin:
        @hookimpl
        def register_models(self):
            return [Note]

    app = make_app(plugins=[Plugin()])
    assert Note in [model for batch in hooks(app).register_models() for model in batch]


def test_hook_register_migrations(make_app):
    class Plugin:
        @hookimpl
        def register_migrations(self):
            return [Migration("notes.0001_tables", create_tables(Note))]

    app = make_app(plugins=[Plugin()])  # make_app runs every pending migration
    with app.app_context():
        assert database.table_exists("note")


def test_hook_register_tabs(make_app, people):
    class Plugin:
        @hookimpl
        def register_tabs(self):
            return [Tab("notes", "Notes", 20, lambda viewer: f"<p>notes of {viewer.name}</p>")]

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "owner@example.com")
    page = client.get("/stream/notes").text
    assert 'id="tab-notes"' in page and "notes of Morgan Reyes" in page


def test_hook_register_blueprints(make_app):
    from flask import Blueprint

    blueprint = Blueprint("hello", __name__)
    blueprint.add_url_rule("/hello", "hello", lambda: "hello there")

    class Plugin:
        @hookimpl
        def register_blueprints(self, app):
            return [blueprint]

    app = make_app(plugins=[Plugin()])
    assert app.test_client().get("/hello").text == "hello there"


def test_hook_register_blueprints_with_its_options(make_app):
    from flask import Blueprint

    blueprint = Blueprint("billing", __name__)
    blueprint.add_url_rule("/", "index", lambda: "the bills")

    class Plugin:
        @hookimpl
        def register_blueprints(self, app):
            return [(blueprint, {"url_prefix": "/billing"})]

    app = make_app(plugins=[Plugin()])
    assert app.test_client().get("/billing/").text == "the bills"
    with app.test_request_context():
        assert url_for("billing.index") == "/billing/"


def test_a_blueprint_that_cannot_be_registered_stops_start_up_naming_it(make_app):
    from flask import Blueprint

    class Plugin:
        @hookimpl
        def register_blueprints(self, app):
            return [Blueprint("people", __name__)]  # the People plugin's name, taken

    with pytest.raises(PluginError, match="blueprint 'people'"):
        make_app(plugins=[Plugin()])


def test_hook_register_tasks(make_app):
    ran = []

    class Plugin:
        @hookimpl
        def register_tasks(self, huey, app):
            def double(number):
                ran.append(number * 2)

            app.extensions["double"] = huey.task()(double)

    app = make_app(plugins=[Plugin()])  # HUEY_IMMEDIATE: the task runs when enqueued
    app.extensions["double"](21)
    assert ran == [42]


def test_hook_register_commands(make_app):
    import click

    class Plugin:
        @hookimpl
        def register_commands(self, cli):
            cli.add_command(click.Command("greet", callback=lambda: click.echo("hi from a plugin")))

    app = make_app(plugins=[Plugin()])
    result = app.test_cli_runner().invoke(args=["greet"])
    assert result.exit_code == 0 and "hi from a plugin" in result.output


def test_hook_flyout_links(make_app, people):
    class Plugin:
        @hookimpl
        def flyout_links(self, viewer):
            return [Link(f"Reports for {viewer.name}", "/reports", order=60)]

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "client@example.com")
    assert '<a href="/reports">Reports for Claire Dubois</a>' in client.get("/profile").text


def test_hook_tab_visible(make_app, people):
    seen = []

    class Plugin:
        @hookimpl
        def tab_visible(self, viewer, tab):
            seen.append(tab)
            if tab.name == "activity":
                return viewer.role.name != "Admin"  # a False vetoes the Admin role's grant
            return None

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        assert get_tab("activity") not in visible_tabs(people["admin@example.com"])
        assert get_tab("activity") in visible_tabs(people["owner@example.com"])  # always
        # A True alone grants: the Teammate role holds no grant of its own.
        assert get_tab("activity") in visible_tabs(people["teammate@example.com"])
        assert get_tab("activity") in seen  # the same Tab object, not a name


@pytest.mark.parametrize("answer", ["all", "related", None, "everything"])
def test_hook_row_scope(make_app, people, answer):
    class Plugin:
        @hookimpl
        def row_scope(self, viewer, tab):
            assert tab is get_tab(tab.name)
            return answer

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        teammate, admin = people["teammate@example.com"], people["admin@example.com"]
        # The Teammate's role is configured "related": no plugin can widen it.
        assert row_scope(teammate, "activity") == "related"
        # The Admin's role is configured "all": any other answer narrows it.
        assert row_scope(admin, "activity") == ("all" if answer in ("all", None) else "related")
        assert row_scope(people["owner@example.com"], "activity") == "all"


def test_hook_row_scope_without_any_answer_is_related(make_app, people):
    app = make_app(PLUGINS_DISABLED="settings")
    with app.test_request_context():
        assert row_scope(people["admin@example.com"], "activity") == "related"


def test_hook_seed_demo(make_app):
    class Plugin:
        @hookimpl
        def seed_demo(self):
            record_activity(None, "demo.seeded", Ref("demo", 1, "Demo"))

    app = make_app(plugins=[Plugin()])
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        assert ActivityEvent.select().where(ActivityEvent.verb == "demo.seeded").count() == 1


def test_hook_startup(make_app):
    started = []

    class Plugin:
        @hookimpl
        def startup(self, app):
            started.append(app)

    app = make_app(plugins=[Plugin()])
    assert started == [app]


def test_hook_before_record(make_app):
    class Enricher:
        @hookimpl
        def before_record(self, event):
            event["summary"] = f"enriched {event['verb']}"

    class Broken:
        @hookimpl
        def before_record(self, event):
            raise RuntimeError("enricher down")

    app = make_app(plugins=[Enricher(), Broken()])
    with app.test_request_context():
        event = record_activity(None, "note.created", Ref("note", 1, "A note"))
        assert ActivityEvent.get_by_id(event.id).summary == "enriched note.created"


def test_hook_after_commit(make_app):
    committed = []

    class Plugin:
        @hookimpl
        def after_commit(self, event):
            committed.append(event.verb)

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        record_activity(None, "note.created", Ref("note", 1, "Kept"))
        with pytest.raises(LookupError), database.atomic():
            record_activity(None, "note.deleted", Ref("note", 1, "Rolled back"))
            raise LookupError("the change failed after its record")
    assert committed == ["note.created"]


def test_hook_describe_event(make_app, people):
    class Plugin:
        @hookimpl
        def describe_event(self, event, viewer):
            if event.verb == "note.created":
                return Markup("<em>A note appeared</em>")
            return None

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        record_activity(people["owner@example.com"], "note.created", Ref("note", 1, "A note"))
    client = app.test_client()
    sign_in(client, "owner@example.com")
    assert "<em>A note appeared</em>" in client.get("/stream/activity").text


def test_hook_describe_fields(make_app, people):
    class Plugin:
        @hookimpl
        def describe_fields(self):
            return {"note": {"state": {"label": "Stage", "choices": {"wip": "Being written"}}}}

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        record_activity(
            people["owner@example.com"],
            "note.updated",
            Ref("note", 7, "Seven"),
            changes={"state": ["wip", "done"]},
        )
    client = app.test_client()
    sign_in(client, "owner@example.com")
    assert "Stage: Being written → done" in client.get("/stream/activity").text


def test_hook_notification_kinds(make_app, people):
    """The Email tab names a kind as the plugin sending it names it, else from its name."""
    from plugins.email.views import kind_label

    class Plugin:
        @hookimpl
        def notification_kinds(self):
            return {"invoice.overdue": "Invoice past its due date"}

    app = make_app(plugins=[Plugin()])
    with app.app_context():
        assert kind_label("invoice.overdue") == "Invoice past its due date"
        assert kind_label("invoice.paid") == "Invoice paid"
        assert kind_label("login.new_client") == "New browser or country"


def test_hook_issue_reset_link(make_app, people):
    """ "This wasn't me" mails the link the first plugin answering issues; with none, nothing
    is mailed and the page says so."""
    from datetime import timedelta

    from core.auth.security import send_reset_link

    issued = []

    class Plugin:
        @hookimpl
        def issue_reset_link(self, user):
            issued.append(user.id)
            return f"https://example.test/reset/{user.id}", timedelta(hours=2)

    app = make_app(plugins=[Plugin()], PLUGINS_DISABLED="people")
    dana = people["teammate@example.com"]
    with app.test_request_context():
        assert send_reset_link(dana) is True
    assert issued == [dana.id]
    bare = make_app(PLUGINS_DISABLED="people")
    with bare.test_request_context():
        assert send_reset_link(dana) is False


def test_hook_describe_event_phrases_for_the_previewed_viewer(make_app, people):
    """Preview as… a Teammate, signed in as an Admin: the rows are phrased for the Teammate."""

    class Plugin:
        @hookimpl
        def describe_event(self, event, viewer):
            if event.verb == "note.created":
                return f"a note for {viewer.name} of {team_label(viewer, 'Delivery')}"
            return None

    app = make_app(plugins=[Plugin()])
    dana = people["teammate@example.com"]
    with app.test_request_context():
        TabGrant.create(tab="activity", role=dana.role)
        audience = Audience(users={dana.id})
        record_activity(people["owner@example.com"], "note.created", Ref("note", 1, "A note"))
        record_activity(None, "note.created", Ref("note", 2, "Hers"), audience=audience)
    client = app.test_client()
    sign_in(client, "admin@example.com")
    assert "a note for Avery Chen of Delivery" in client.get("/stream/activity").text
    preview = client.post(
        "/stream/settings/preview",
        data={"user": dana.id},
        headers={"X-CSRF-Token": csrf_token_of(client)},
    )
    assert preview.status_code == 200
    assert "a note for Dana Scully of a team" in preview.text


def test_hook_object_urls(make_app, people):
    class Plugin:
        @hookimpl
        def object_urls(self, refs):
            return {ref: f"/notes/{ref[1]}" for ref in refs if ref[0] == "note"}

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        record_activity(people["owner@example.com"], "note.created", Ref("note", 7, "Seven"))
    client = app.test_client()
    sign_in(client, "owner@example.com")
    assert '<a href="/notes/7">Seven</a>' in client.get("/stream/activity").text


def test_hook_send_notification(make_app, people):
    queued = []

    class Outbox:
        @hookimpl
        def send_notification(self, notification):
            if notification.subject == "broken":
                raise RuntimeError("outbox full")
            queued.append(notification.kind)
            return [len(queued)]

    app = make_app(plugins=[Outbox()], PLUGINS_DISABLED="email")
    owner = people["owner@example.com"]
    with app.test_request_context():
        sent = Notification("note.shared", (owner,), "A note for you", "notes/shared")
        assert notify(sent) == [1]
        # A failing outbox fails the action that asked for the message: both roll back.
        with pytest.raises(RuntimeError), database.atomic():
            TabGrant.create(tab="activity", user=people["pm@example.com"])
            notify(Notification("note.shared", (owner,), "broken", "notes/shared"))
        assert not TabGrant.select().where(TabGrant.user == people["pm@example.com"]).exists()
    assert queued == ["note.shared"]


def test_hook_team_granted_tabs(make_app, people):
    class Plugin:
        @hookimpl
        def team_granted_tabs(self, team):
            return ["reports"] if team.name == "Delivery" else []

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "owner@example.com")
    with app.app_context():
        delivery = Team.get(Team.name == "Delivery")
        TabGrant.create(tab="activity", team=delivery)
    page = client.get(f"/teams/{delivery.id}/delete").text
    # Settings' grant by its label, in tab-bar order, then a tab no plugin serves by its name.
    assert "The team is granted: Activity, reports." in page


def test_hook_team_tab_losses(make_app, people):
    dana, owner = people["teammate@example.com"], people["owner@example.com"]

    class Plugin:
        @hookimpl
        def team_tab_losses(self, team):
            # Someone who is not a member is not listed, whatever a plugin says.
            return {dana.id: {"reports", "activity"}, owner.id: {"reports"}}

    app = make_app(plugins=[Plugin()], PLUGINS_DISABLED="settings")
    client = app.test_client()
    sign_in(client, "owner@example.com")
    with app.app_context():
        delivery = Team.get(Team.name == "Delivery")
    page = client.get(f"/teams/{delivery.id}/delete").text
    assert "<strong>Dana Scully</strong> loses Activity, reports</li>" in page
    assert "Morgan Reyes</strong> loses" not in page


def test_hook_team_deleted(make_app, people):
    seen = []

    class Plugin:
        @hookimpl
        def team_deleted(self, team, actor):
            still_there = Team.select().where(Team.id == team.id).exists()
            seen.append((team.name, actor.name, still_there))
            if team.name == "Sales":
                raise RuntimeError("the team's reports could not be archived")

    app = make_app(plugins=[Plugin()], PLUGINS_DISABLED="settings")
    owner = people["owner@example.com"]
    with app.test_request_context():
        delivery, sales = Team.get(Team.name == "Delivery"), Team.get(Team.name == "Sales")
        delete_team(owner, delivery)
        # A plugin failing takes the deletion back: the team and its record stay as they were.
        with pytest.raises(RuntimeError):
            delete_team(owner, sales)
        assert Team.select().where(Team.id == sales.id).exists()
        deleted = ActivityEvent.select().where(ActivityEvent.verb == "team.deleted")
        assert [event.object_label for event in deleted] == ["Delivery"]
    assert seen == [("Delivery", "Morgan Reyes", True), ("Sales", "Morgan Reyes", True)]


def test_hook_record_actions(make_app, people):
    """A plugin's action shows in a record's Details, offered to the viewer it answered for."""

    class Plugin:
        @hookimpl
        def record_actions(self, viewer, event):
            if event.verb == "note.deleted" and viewer.role.name == "Super Admin":
                return Markup(f'<button id="bring-back">Bring {event.object_label} back</button>')
            return None

    app = make_app(plugins=[Plugin()])
    with app.test_request_context():
        gone = record_activity(people["owner@example.com"], "note.deleted", Ref("note", 3, "Three"))
        kept = record_activity(people["owner@example.com"], "note.created", Ref("note", 4, "Four"))
    owner, admin = app.test_client(), app.test_client()
    sign_in(owner, "owner@example.com")
    sign_in(admin, "admin@example.com")
    assert (
        '<button id="bring-back">Bring Three back</button>'
        in owner.get(f"/stream/activity/{gone.id}").text
    )
    assert "bring-back" not in owner.get(f"/stream/activity/{kept.id}").text
    assert "bring-back" not in admin.get(f"/stream/activity/{gone.id}").text


class NotesPlugin:
    """A plugin restoring its notes (kept in ``notes``) from their deletion records."""

    def __init__(self):
        self.notes = {4: "Four"}

    @hookimpl
    def restore_plan(self, event):
        from plugins.restore.plans import Plan
        from plugins.restore.plans import Refused

        if event.verb != "note.deleted":
            return None
        if int(event.object_id) in self.notes:
            raise Refused(f"Note {event.object_id} is there already.")
        return Plan(f"Brings back note {event.object_label}")

    @hookimpl
    def restore(self, event, actor):
        from plugins.restore.plans import Restored

        if event.verb != "note.deleted":
            return None
        self.restore_plan(event=event)  # checks again, as the hook says
        self.notes[int(event.object_id)] = event.object_label
        ref = Ref("note", event.object_id, event.object_label)
        return [Restored(ref, {"text": [None, event.object_label]}, event.id)]


def test_hook_restore_plan(make_app, people):
    """A plugin's plan puts Restore (with what it brings back) on its records' Details; its
    refusal says why instead."""
    plugin = NotesPlugin()
    app = make_app(plugins=[plugin])
    owner = people["owner@example.com"]
    with app.test_request_context():
        gone = record_activity(owner, "note.deleted", Ref("note", 3, "Three"))
        there = record_activity(owner, "note.deleted", Ref("note", 4, "Four"))
    client = app.test_client()
    sign_in(client, "owner@example.com")
    details = client.get(f"/stream/activity/{gone.id}").text
    assert "restore-button" in details and "Brings back note Three" in details
    refused = client.get(f"/stream/activity/{there.id}").text
    assert "restore-button" not in refused and "Note 4 is there already." in refused


def test_hook_restore(make_app, people):
    """Restore asks the plugin to bring the note back, then records ``note.restored`` linked
    to the record it undid; a refusal (409) changes nothing."""
    plugin = NotesPlugin()
    app = make_app(plugins=[plugin])
    owner = people["owner@example.com"]
    with app.test_request_context():
        gone = record_activity(owner, "note.deleted", Ref("note", 3, "Three"))
        there = record_activity(owner, "note.deleted", Ref("note", 4, "Four"))
    client = app.test_client()
    sign_in(client, "owner@example.com")
    headers = {"X-CSRF-Token": csrf_token_of(client), "HX-Request": "true"}
    assert client.post(f"/stream/activity/{gone.id}/restore", headers=headers).status_code == 200
    assert plugin.notes == {3: "Three", 4: "Four"}
    with app.app_context():
        restored = ActivityEvent.get(ActivityEvent.verb == "note.restored")
        assert (restored.object_id, json.loads(restored.metadata)) == ("3", {"undid": gone.id})
    refused = client.post(f"/stream/activity/{there.id}/restore", headers=headers)
    assert refused.status_code == 409 and "Note 4 is there already." in refused.text


def test_hook_person_sections(make_app, people):
    """A plugin's section shows on Manage People's page of the person it was asked about."""

    class Plugin:
        @hookimpl
        def person_sections(self, viewer, person):
            if person.email == "teammate@example.com":
                return Markup(f'<section class="card"><h2>Mail of {person.name}</h2></section>')
            return None

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "owner@example.com")
    dana, avery = people["teammate@example.com"], people["admin@example.com"]
    assert "<h2>Mail of Dana Scully</h2>" in client.get(f"/people/{dana.id}").text
    assert "<h2>Mail of" not in client.get(f"/people/{avery.id}").text


def test_hook_settings_sections(make_app, people):
    class Plugin:
        @hookimpl
        def settings_sections(self, viewer):
            return [Markup(f"<section><h2>Reports</h2><p>for {viewer.name}</p></section>")]

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "admin@example.com")
    assert "<h2>Reports</h2><p>for Avery Chen</p>" in client.get("/stream/settings").text


def test_hook_person_left_stream(make_app, people):
    from plugins.people.accounts import update_person

    seen = []

    class Plugin:
        @hookimpl
        def person_left_stream(self, user):
            seen.append(user.email)
            return {"report subscriptions": [["weekly"], []]}

    app = make_app(plugins=[Plugin()], PLUGINS_DISABLED="settings")
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    with app.test_request_context():
        # A change that keeps a Staff Member on the stream asks no plugin.
        update_person(owner, dana, dana.name, dana.email, "Salesperson", dana.time_zone)
        assert seen == []
        event = update_person(owner, dana, dana.name, dana.email, "Client", dana.time_zone)
    assert seen == ["teammate@example.com"]
    # What the plugin took back is recorded in the same event as the change of role.
    changes = json.loads(event.changes)
    assert changes["report subscriptions"] == [["weekly"], []]
    assert changes["role"] == ["Salesperson", "Client"]


def test_hook_person_records(make_app, people):
    class Plugin:
        @hookimpl
        def person_records(self, person):
            return [("note", {"text": f"about {person.name}"})]

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "admin@example.com")
    dana = people["teammate@example.com"]
    answer = client.post(f"/people/{dana.id}/export", data={"csrf_token": csrf_token_of(client)})
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert {"kind": "note", "text": "about Dana Scully"} in lines


def test_hook_pseudonymise_person(make_app, people):
    seen = []

    class Plugin:
        @hookimpl
        def pseudonymise_person(self, person, replace):
            seen.append(replace(f"Note for {person.name} <{person.email}>"))
            return 1

    app = make_app(plugins=[Plugin()])
    client = app.test_client()
    sign_in(client, "admin@example.com")
    dana = people["teammate@example.com"]
    answer = client.post(
        f"/people/{dana.id}/pseudonymise",
        data={"csrf_token": csrf_token_of(client), "confirm": "yes"},
    )
    assert answer.status_code == 303
    with app.app_context():
        from plugins.people.pseudonyms import pseudonym_of

        name, email = pseudonym_of(dana)
    assert seen == [f"Note for {name} <{email}>"]
