"""Restore from a record (plugins/restore): each kind of object put back (a workspace task,
company and document, changed or deleted; a team deleted or renamed; a person's role), each
refusal (changed since, a masked field, the object back already, not an owner or admin, a
record the viewer does not see, a record no plugin restores, no CSRF token), and the restore's
own record, linked to the one it undid and shown where that one was. SQLite and PostgreSQL."""

import json
import re

import pytest
from flask import g

from core.db import database
from core.events import MASK
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.testing import csrf_token_of
from core.testing import sign_in
from plugins.people import accounts
from plugins.people import teams
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant
from tests.examples import workspace

services = workspace("services")
models = workspace("models")
Company, Document, Task = models.Company, models.Document, models.Task
TaskComment, TaskAssignee, CompanyMember = (
    models.TaskComment,
    models.TaskAssignee,
    models.CompanyMember,
)

HTMX = {"HX-Request": "true"}
ROW_ID = re.compile(r'data-row-id="(\d+)"')


# --- helpers ---------------------------------------------------------------------------------


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def restore(client, record_id, htmx=True, token=True):
    """POST Restore of record ``record_id`` (with the session's CSRF token unless ``token``
    is False)."""
    headers = dict(HTMX) if htmx else {}
    data = {"csrf_token": csrf_token_of(client)} if token else {}
    return client.post(f"/stream/activity/{record_id}/restore", data=data, headers=headers)


def latest(verb):
    """Return the newest event of ``verb``."""
    return ActivityEvent.select().where(ActivityEvent.verb == verb).order_by(-ActivityEvent.id)[0]


def count(verb):
    return ActivityEvent.select().where(ActivityEvent.verb == verb).count()


def undid(event):
    return json.loads(event.metadata)["undid"]


def row_ids(client, url="/stream/activity"):
    response = client.get(url)
    assert response.status_code == 200, response.text
    return {int(value) for value in ROW_ID.findall(response.text)}


@pytest.fixture
def world(app, people):
    """A company with a member and an account manager, a task with an assignee and a comment,
    a document shared with a contact (and one with an access code)."""
    admin = people["admin@example.com"]
    with app.test_request_context():
        acme = services.create_company(
            admin,
            name="Acme Corp",
            industry="Retail",
            account_manager=people["grace@example.com"],
            members=[people["client@example.com"]],
        )
        task = services.create_task(
            admin, title="Q3 report", company=acme, assignees=[people["teammate@example.com"]]
        )
        services.comment_on_task(admin, task, "First draft attached.")
        document = services.create_document(
            admin,
            title="Proposal",
            body="v1",
            company=acme,
            owner=people["sales@example.com"],
            shared_with=[people["client@example.com"]],
        )
        secret = services.create_document(
            admin, title="Data room", body="", owner=admin, access_code="ROOM-7731"
        )
    return {"acme": acme, "task": task, "document": document, "secret": secret}


# --- the workspace: changes of fields --------------------------------------------------------


def test_a_task_change_is_put_back_and_recorded_as_undoing_it(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        task = Task.get_by_id(world["task"].id)
        changed = services.update_task(
            admin,
            task,
            title="Q4 report",
            status="in_progress",
            assignees=[people["fox@example.com"]],
        )
    client = client_for(app, "admin@example.com")
    response = restore(client, changed.id)
    assert response.status_code == 200, response.text
    assert "Restored." in response.text
    with app.app_context():
        task = Task.get_by_id(world["task"].id)
        assert (task.title, task.status) == ("Q3 report", "open")
        assignees = {
            row.user_id for row in TaskAssignee.select().where(TaskAssignee.task == task.id)
        }
        assert assignees == {people["teammate@example.com"].id}
        done = latest("task.restored")
        assert undid(done) == changed.id
        assert done.actor_id == admin.id
        assert json.loads(done.changes) == {
            "assignees": [["Fox Mulder"], ["Dana Scully"]],
            "status": ["in_progress", "open"],
            "title": ["Q4 report", "Q3 report"],
        }
    # Its Details link the record it undid; the undone record's name the restore.
    assert (
        f'href="/stream/activity/{changed.id}">record #{changed.id}</a>'
        in client.get(f"/stream/activity/{done.id}").text
    )
    undone = client.get(f"/stream/activity/{changed.id}").text
    assert f'Restored by <a href="/stream/activity/{done.id}"' in undone
    assert "restore-button" not in undone


def test_a_company_change_and_a_document_change_are_put_back(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        company_change = services.update_company(
            admin,
            Company.get_by_id(world["acme"].id),
            name="Acme Inc",
            account_manager=people["pm@example.com"],
            members=[],
        )
        document_change = services.update_document(
            admin, Document.get_by_id(world["document"].id), body="v2", shared_with=[]
        )
    client = client_for(app, "admin@example.com")
    assert restore(client, company_change.id).status_code == 200
    assert restore(client, document_change.id, htmx=False).status_code == 303
    with app.app_context():
        company = Company.get_by_id(world["acme"].id)
        assert (company.name, company.account_manager_id) == (
            "Acme Corp",
            people["grace@example.com"].id,
        )
        members = [
            row.user_id for row in CompanyMember.select().where(CompanyMember.company == company.id)
        ]
        assert members == [people["client@example.com"].id]
        document = Document.get_by_id(world["document"].id)
        assert document.body == "v1"
        assert [s.user_id for s in document.shares] == [people["client@example.com"].id]
        assert undid(latest("company.restored")) == company_change.id
        assert undid(latest("document.restored")) == document_change.id


def test_a_restore_is_seen_where_the_record_it_undid_was(app, people, world):
    """Dana (a Teammate, related rows only) saw the change of her task: she sees its restore."""
    admin = people["admin@example.com"]
    with app.test_request_context():
        TabGrant.create(tab="activity", role=Role.get(Role.name == "Teammate"))
        changed = services.update_task(admin, Task.get_by_id(world["task"].id), assignees=[])
    dana = client_for(app, "teammate@example.com")
    assert changed.id in row_ids(dana)
    assert restore(client_for(app, "owner@example.com"), changed.id).status_code == 200
    with app.app_context():
        done = latest("task.restored")
    assert done.id in row_ids(dana)
    # Dana may not restore, so her Details offer no button, but say what the restore undid.
    assert "restore-button" not in dana.get(f"/stream/activity/{changed.id}").text
    assert f"record #{changed.id}</a>" in dana.get(f"/stream/activity/{done.id}").text


# --- the workspace: deletions ----------------------------------------------------------------


def test_a_deleted_task_comes_back_with_its_id_assignees_and_comments(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        deleted = services.delete_task(admin, Task.get_by_id(world["task"].id))
    client = client_for(app, "admin@example.com")
    details = client.get(f"/stream/activity/{deleted.id}").text
    assert "restore-button" in details and "with its assignees and comments" in details
    assert restore(client, deleted.id).status_code == 200
    with app.app_context():
        task = Task.get_by_id(world["task"].id)
        assert (task.title, task.company_id, task.created_by_id) == (
            "Q3 report",
            world["acme"].id,
            admin.id,
        )
        assert [a.user_id for a in task.assignments] == [people["teammate@example.com"].id]
        assert [(c.author_id, c.body) for c in task.comments] == [
            (admin.id, "First draft attached.")
        ]
        done = latest("task.restored")
        assert (done.object_id, done.target_id, undid(done)) == (
            str(task.id),
            str(world["acme"].id),
            deleted.id,
        )
    # Its page is there again, at its old address.
    assert client.get(f"/workspace/tasks/{world['task'].id}").status_code == 200


def test_a_deleted_company_comes_back_with_its_members_tasks_and_documents(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        deleted = services.delete_company(admin, Company.get_by_id(world["acme"].id))
        assert json.loads(deleted.metadata)["tasks"] == [latest("task.deleted").id]
    client = client_for(app, "admin@example.com")
    assert restore(client, deleted.id).status_code == 200
    with app.app_context():
        company = Company.get_by_id(world["acme"].id)
        assert company.account_manager_id == people["grace@example.com"].id
        assert [m.user_id for m in company.memberships] == [people["client@example.com"].id]
        task = Task.get_by_id(world["task"].id)
        assert task.company_id == company.id and len(list(task.comments)) == 1
        document = Document.get_by_id(world["document"].id)
        assert (document.company_id, document.owner_id) == (
            company.id,
            people["sales@example.com"].id,
        )
        # One record per object brought back, each linked to that object's own deletion.
        assert undid(latest("company.restored")) == deleted.id
        assert undid(latest("task.restored")) == latest("task.deleted").id
        assert undid(latest("document.restored")) == latest("document.deleted").id


def test_a_deletion_recorded_without_ids_restores_by_names_and_says_what_it_leaves_out(
    app, people, world
):
    """A record kept before deletions recorded ids and children: by names, when each names
    one object; comments it never had are named as left out."""
    admin = people["admin@example.com"]
    with app.test_request_context():
        deleted = services.delete_task(admin, Task.get_by_id(world["task"].id))
        # As recorded before: no metadata (the guard forbids UPDATE: a copy without it).
        old = record_activity(
            admin,
            "task.deleted",
            Ref("task", world["task"].id, "Q3 report"),
            changes=json.loads(deleted.changes),
            summary="",
        )
    client = client_for(app, "admin@example.com")
    assert "its comments were not recorded with it" in client.get(f"/stream/activity/{old.id}").text
    assert restore(client, old.id).status_code == 200
    with app.app_context():
        task = Task.get_by_id(world["task"].id)
        assert [a.user_id for a in task.assignments] == [people["teammate@example.com"].id]
        assert task.company_id == world["acme"].id and list(task.comments) == []


# --- teams and people ------------------------------------------------------------------------


def test_a_deleted_team_comes_back_with_its_members(app, people):
    owner = people["owner@example.com"]
    with app.test_request_context():
        sales = Team.get(Team.name == "Sales")
        members = {
            m.user_id for m in TeamMembership.select().where(TeamMembership.team == sales.id)
        }
        deleted = teams.delete_team(owner, sales)
    client = client_for(app, "admin@example.com")
    assert restore(client, deleted.id).status_code == 200
    with app.app_context():
        back = Team.get_by_id(sales.id)
        assert (back.name, back.color) == ("Sales", sales.color)
        assert {
            m.user_id for m in TeamMembership.select().where(TeamMembership.team == back.id)
        } == members
        done = latest("team.restored")
        assert undid(done) == deleted.id
    # Told in words as the People plugin tells a team's records.
    assert "restored team" in client.get(f"/stream/activity/{done.id}").text


def test_a_team_renamed_gets_its_name_back(app, people):
    owner = people["owner@example.com"]
    with app.test_request_context():
        sales = Team.get(Team.name == "Sales")
        color = sales.color
        renamed = teams.update_team(owner, sales, "Revenue", sales.description, "#123456")
    assert restore(client_for(app, "owner@example.com"), renamed.id).status_code == 200
    with app.app_context():
        back = Team.get_by_id(sales.id)
        assert (back.name, back.color) == ("Sales", color)
    with app.test_request_context():
        again = teams.update_team(owner, back, "Revenue", back.description, back.color)
        teams.update_team(owner, back, "Income", back.description, back.color)
    refused = restore(client_for(app, "owner@example.com"), again.id)
    assert refused.status_code == 409 and "Name has changed since" in refused.text


def test_a_role_change_is_put_back_with_the_teams_it_took(app, people):
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    with app.test_request_context():
        changed = accounts.update_person(
            owner, dana, dana.name, dana.email, "Client", dana.time_zone
        )
    assert restore(client_for(app, "admin@example.com"), changed.id).status_code == 200
    with app.app_context():
        back = User.get_by_id(dana.id)
        assert back.role.name == "Teammate"
        assert [
            m.team.name for m in TeamMembership.select().where(TeamMembership.user == dana.id)
        ] == ["Delivery"]
        done = latest("user.restored")
        assert json.loads(done.changes)["role"] == ["Client", "Teammate"]
        assert undid(done) == changed.id


def test_a_role_change_brings_back_a_team_renamed_since_by_its_id(app, people):
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    with app.test_request_context():
        changed = accounts.update_person(
            owner, dana, dana.name, dana.email, "Client", dana.time_zone
        )
        Team.update(name="Delivery Ops").where(Team.name == "Delivery").execute()
    assert restore(client_for(app, "admin@example.com"), changed.id).status_code == 200
    with app.app_context():
        assert [
            m.team.name for m in TeamMembership.select().where(TeamMembership.user == dana.id)
        ] == ["Delivery Ops"]


# --- refusals --------------------------------------------------------------------------------


def test_a_value_changed_since_is_refused_naming_the_field(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        first = services.update_task(admin, Task.get_by_id(world["task"].id), title="Q4 report")
        services.update_task(admin, Task.get_by_id(world["task"].id), title="Q1 report")
    client = client_for(app, "admin@example.com")
    assert (
        "Cannot be restored: Title has changed since"
        in client.get(f"/stream/activity/{first.id}").text
    )
    response = restore(client, first.id)
    assert response.status_code == 409
    assert (
        "Title has changed since this record: it is now “Q1 report”, not “Q4 report”"
        in response.text
    )
    # Without htmx: the same refusal, as a page.
    page = restore(client, first.id, htmx=False)
    assert page.status_code == 409 and "Title has changed since" in page.text
    with app.app_context():
        assert Task.get_by_id(world["task"].id).title == "Q1 report"
        assert count("task.restored") == 0


def test_a_masked_field_is_never_restored(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        changed = services.update_document(
            admin, Document.get_by_id(world["secret"].id), access_code="ROOM-0000", title="Room"
        )
        assert json.loads(changed.changes)["access_code"] == [MASK, MASK]
    client = client_for(app, "admin@example.com")
    response = restore(client, changed.id)  # the document is there: the secret alone refuses
    assert response.status_code == 422 and "Access code is a secret" in response.text
    with app.test_request_context():
        deleted = services.delete_document(admin, Document.get_by_id(world["secret"].id))
        password = record_activity(
            admin,
            "user.updated",
            Ref("user", admin.id, admin.name),
            changes={"password": [MASK, MASK]},
        )
    for record in (changed, deleted, password):
        response = restore(client, record.id)
        assert response.status_code == 422, response.text
        assert "is a secret: the log keeps no value of it" in response.text
    with app.app_context():
        assert Document.get_or_none(Document.id == world["secret"].id) is None
        assert ActivityEvent.select().where(ActivityEvent.action == "restored").count() == 0


def test_a_company_whose_document_holds_a_secret_is_refused_whole(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        services.update_document(
            admin, Document.get_by_id(world["secret"].id), company=world["acme"]
        )
        deleted = services.delete_company(admin, Company.get_by_id(world["acme"].id))
    response = restore(client_for(app, "admin@example.com"), deleted.id)
    assert response.status_code == 422
    assert "Its document “Data room”: Access code is a secret" in response.text
    with app.app_context():
        assert Company.get_or_none(Company.id == world["acme"].id) is None
        assert Task.get_or_none(Task.id == world["task"].id) is None


def test_an_object_back_already_is_refused(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        deleted = services.delete_task(admin, Task.get_by_id(world["task"].id))
    client = client_for(app, "admin@example.com")
    assert restore(client, deleted.id).status_code == 200
    again = restore(client, deleted.id)
    assert again.status_code == 409 and "restored already" in again.text
    with app.test_request_context():
        # Recreated by hand instead (another request took its id): "exists again".
        Task.get_by_id(world["task"].id).delete_instance(recursive=True)
        Task.create(id=world["task"].id, title="Someone else's", created_by=admin.id)
        copy = record_activity(
            admin,
            "task.deleted",
            Ref("task", world["task"].id, "Q3 report"),
            changes=json.loads(deleted.changes),
        )
    refused = restore(client, copy.id)
    assert refused.status_code == 409 and "exists again" in refused.text


def test_a_change_of_an_object_deleted_since_is_refused(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        changed = services.update_task(admin, Task.get_by_id(world["task"].id), title="Q4 report")
        services.delete_task(admin, Task.get_by_id(world["task"].id))
    response = restore(client_for(app, "admin@example.com"), changed.id)
    assert (
        response.status_code == 409
        and "no longer exists: restore its deletion first" in response.text
    )


def test_only_the_owner_and_admins_may_restore(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        TabGrant.create(tab="activity", role=Role.get(Role.name == "Project Manager"))
        RoleScope.create(role=Role.get(Role.name == "Project Manager"), tab="activity", scope="all")
        changed = services.update_task(admin, Task.get_by_id(world["task"].id), title="Q4 report")
    pm = client_for(app, "pm@example.com")
    assert changed.id in row_ids(pm)  # she sees the record...
    assert "restore-button" not in pm.get(f"/stream/activity/{changed.id}").text
    response = restore(pm, changed.id)  # ...and may not restore it
    assert response.status_code == 403
    assert restore(client_for(app, "teammate@example.com"), changed.id).status_code == 403  # no tab
    assert restore(client_for(app, "client@example.com"), changed.id).status_code == 403
    assert app.test_client().post(f"/stream/activity/{changed.id}/restore").status_code in (
        302,
        401,
    )
    with app.app_context():
        assert Task.get_by_id(world["task"].id).title == "Q4 report"
        assert count("task.restored") == 0


def test_a_record_the_admin_does_not_see_is_a_404(app, people, world):
    pm = people["pm@example.com"]
    with app.test_request_context():
        RoleScope.create(role=Role.get(Role.name == "Admin"), tab="activity", scope="related")
        # Priya's change of a task of hers relates to Delivery, not to Avery (Leadership).
        task = services.create_task(pm, title="Delivery plan")
        changed = services.update_task(pm, task, title="Delivery plan v2")
    client = client_for(app, "admin@example.com")
    assert client.get(f"/stream/activity/{changed.id}").status_code == 404
    assert restore(client, changed.id).status_code == 404
    assert restore(client, 999_999_999).status_code == 404
    with app.app_context():
        assert Task.get_by_id(task.id).title == "Delivery plan v2"


def test_a_record_no_plugin_restores_is_refused_and_offers_no_button(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        created = ActivityEvent.get(ActivityEvent.verb == "task.created")
        commented = ActivityEvent.get(ActivityEvent.verb == "task.commented")
        other = record_activity(
            admin, "invoice.updated", Ref("invoice", 3, "INV-3"), changes={"a": [1, 2]}
        )
    client = client_for(app, "admin@example.com")
    for record in (created, commented, other):
        assert "restore-button" not in client.get(f"/stream/activity/{record.id}").text
        response = restore(client, record.id)
        assert response.status_code == 422, response.text
        assert "This record cannot be restored" in response.text
    with app.app_context():
        # A restore's own record is not restored again: edit the object instead.
        changed = services.update_task(admin, Task.get_by_id(world["task"].id), title="Q4 report")
    assert restore(client, changed.id).status_code == 200
    with app.app_context():
        assert restore(client, latest("task.restored").id).status_code == 422


def test_a_restore_without_the_csrf_token_is_refused(app, people, world):
    admin = people["admin@example.com"]
    with app.test_request_context():
        changed = services.update_task(admin, Task.get_by_id(world["task"].id), title="Q4 report")
    client = client_for(app, "admin@example.com")
    assert restore(client, changed.id, token=False).status_code == 400
    forged = client.post(
        f"/stream/activity/{changed.id}/restore", data={"csrf_token": "forged"}, headers=HTMX
    )
    assert forged.status_code == 400
    with app.app_context():
        assert Task.get_by_id(world["task"].id).title == "Q4 report"


def test_people_rules_hold_for_a_restore(app, people):
    """Nobody becomes a second Super Admin, nor changes their own role, by a restore."""
    owner, admin = people["owner@example.com"], people["admin@example.com"]
    with app.test_request_context():
        ines = people["ines@example.com"]
        own = accounts.update_person(
            owner, admin, admin.name, admin.email, "Project Manager", admin.time_zone
        )
        renamed = accounts.update_person(
            owner, ines, "Ines G.", ines.email, ines.role.name, ines.time_zone
        )
        accounts.update_person(
            owner, ines, "Ines Garcia-Lopez", ines.email, ines.role.name, ines.time_zone
        )
    # Avery (now a Project Manager) may not restore; the owner may, for Avery.
    assert restore(client_for(app, "admin@example.com"), own.id).status_code == 403
    assert restore(client_for(app, "owner@example.com"), own.id).status_code == 200
    response = restore(client_for(app, "owner@example.com"), renamed.id)
    assert response.status_code == 409 and "Name has changed since" in response.text
    with app.app_context():
        assert User.get_by_id(admin.id).role.name == "Admin"


def test_a_restore_keeps_the_rules_of_manage_people(app, people):
    """Nobody changes their own role by a restore; only the Super Admin changes the Super
    Admin's account, by a restore too."""
    owner, admin = people["owner@example.com"], people["admin@example.com"]
    with app.test_request_context():
        accounts.update_person(owner, admin, admin.name, admin.email, "Project Manager", "UTC")
        promoted = accounts.update_person(owner, admin, admin.name, admin.email, "Admin", "UTC")
        zone = accounts.update_person(owner, owner, owner.name, owner.email, owner.role.name, "UTC")
    avery = client_for(app, "admin@example.com")
    own = restore(avery, promoted.id)
    assert own.status_code == 422 and "You cannot change your own role" in own.text
    owners = restore(avery, zone.id)
    assert owners.status_code == 403 and "Only the Super Admin changes" in owners.text
    with app.app_context():
        assert User.get_by_id(admin.id).role.name == "Admin"
        assert User.get_by_id(owner.id).time_zone == "UTC"
    assert restore(client_for(app, "owner@example.com"), zone.id).status_code == 200


def test_a_team_or_company_name_taken_since_is_refused(app, people, world):
    owner = people["owner@example.com"]
    with app.test_request_context():
        deleted = teams.delete_team(owner, Team.get(Team.name == "Sales"))
        teams.create_team(owner, "sales")
        services.create_company(owner, name="Globex")  # so SQLite gives the next one a new id
        gone = services.delete_company(owner, Company.get_by_id(world["acme"].id))
        services.create_company(owner, name="Acme Corp")
    client = client_for(app, "owner@example.com")
    team = restore(client, deleted.id)
    assert team.status_code == 409 and "A team named “Sales” exists now" in team.text
    company = restore(client, gone.id)
    assert company.status_code == 409 and "A company named “Acme Corp” exists now" in company.text


def test_a_record_undone_is_linked_only_for_those_who_see_it(app, people, world):
    """Oscar (Office Manager, Leadership, related rows only) sees the owner's restore of
    Priya's change through his team, not Priya's change itself: it is named, not linked."""
    pm = people["pm@example.com"]
    with app.test_request_context():
        office = Role.get(Role.name == "Office Manager")
        TabGrant.create(tab="activity", role=office)
        RoleScope.create(role=office, tab="activity", scope="related")
        task = services.create_task(pm, title="Delivery plan")
        changed = services.update_task(pm, task, title="Delivery plan v2")
    assert restore(client_for(app, "owner@example.com"), changed.id).status_code == 200
    with app.app_context():
        done = latest("task.restored")
    oscar = client_for(app, "office@example.com")
    assert changed.id not in row_ids(oscar) and done.id in row_ids(oscar)
    details = oscar.get(f"/stream/activity/{done.id}").text
    assert f"Undid record #{changed.id}." in details
    assert f'href="/stream/activity/{changed.id}"' not in details


def test_a_record_sent_by_another_system_or_of_another_shape_is_refused(app, people, world):
    """A record sent over the API says what another system did: never restored here; nor is
    a change set that is not ``{field: [old, new]}``."""
    admin = people["admin@example.com"]
    task = Ref("task", world["task"].id, "Q3 report")
    with app.test_request_context():
        g.recorded_via = "api_token:1"
        sent = record_activity(admin, "task.updated", task, changes={"title": ["Q3 report", "X"]})
    with app.test_request_context():
        odd = record_activity(admin, "task.updated", task, changes={"title": "x"}, summary="x")
        ids = record_activity(
            admin,
            "task.updated",
            task,
            changes={"assignees": [["Fox Mulder"], ["Dana Scully"]]},
            metadata={"ids": {"assignees": "not ids"}},
        )
    client = client_for(app, "admin@example.com")
    assert "sent by another system" in client.get(f"/stream/activity/{sent.id}").text
    for record, words in ((sent, "sent by another system"), (odd, "not one a restore can read")):
        response = restore(client, record.id)
        assert response.status_code == 422 and words in response.text
    # Ids of another shape are ignored: the names decide (Dana is there: Fox comes back).
    assert restore(client, ids.id).status_code == 200
    with app.app_context():
        task = Task.get_by_id(world["task"].id)
        assert task.title == "Q3 report"
        assert [a.user_id for a in task.assignments] == [people["fox@example.com"].id]


# Every demo role, the Activity tab granted to every Staff role with every row: past the gate
# the owner and admins reach the record (here one no plugin restores: 422), other Staff get
# 403; Contacts and Freelancers 403 at the gate; signed out, sent to sign in.
ROLE_ANSWERS = {
    "owner@example.com": 422,
    "admin@example.com": 422,
    "pm@example.com": 403,
    "office@example.com": 403,
    "teammate@example.com": 403,
    "sales@example.com": 403,
    "freelancer@example.com": 403,
    "client@example.com": 403,
    "prospect@example.com": 403,
    None: 401,  # htmx: 401 with HX-Redirect to sign in
}


@pytest.mark.parametrize("email", list(ROLE_ANSWERS), ids=lambda email: email or "signed-out")
def test_every_role_gets_its_answer(app, people, world, email):
    # One write transaction, taken before the loop reads: a write while its SELECT is still
    # open needs that read's snapshot to be current, and another writer (the background
    # index catch-up) may have committed since.
    with app.test_request_context(), database.atomic():
        RoleScope.delete().where(RoleScope.tab == "activity").execute()
        for role in Role.select():
            TabGrant.insert(tab="activity", role=role).on_conflict_ignore().execute()
            RoleScope.create(role=role, tab="activity", scope="all")
        created = ActivityEvent.get(ActivityEvent.verb == "task.created")
    client = client_for(app, email) if email else app.test_client()
    response = restore(client, created.id)
    assert response.status_code == ROLE_ANSWERS[email], response.text
    if email is None:
        assert "/login?next=" in response.headers["HX-Redirect"]
