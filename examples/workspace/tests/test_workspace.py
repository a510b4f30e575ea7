"""The workspace: its pages, its one write path, and what the Activity tab records of it."""

import json
import re
from datetime import timedelta

import pytest
from activity_stream_workspace import services
from activity_stream_workspace.access import Denied
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskComment
from playhouse.test_utils import count_queries

from core.db import clock_at
from core.db import database
from core.db import utcnow
from core.events import MASK
from core.events import ActivityAudience
from core.events import ActivityEvent
from core.events import team_party
from core.events import user_party
from core.people import Role
from core.people import create_user
from core.plugins import hooks
from core.testing import csrf_token_of
from core.testing import sign_in
from plugins.settings.models import TabGrant

ROW_ID = re.compile(r'data-row-id="(\d+)"')


# --- helpers ---------------------------------------------------------------------------------


def client_for(app, email):
    """Return a new test client signed in as ``email``."""
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302, response.text
    return client


def post(client, url, data=None, **kwargs):
    """POST a form with the session's CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token_of(client)}, **kwargs)


def grant_activity(app, *role_names):
    """Grant the Activity tab to every member of ``role_names``."""
    with app.app_context():
        for name in role_names:
            TabGrant.create(tab="activity", role=Role.get(Role.name == name))


def row_ids(client, url="/stream/activity"):
    """Return the event ids listed on ``client``'s Activity tab."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    return {int(value) for value in ROW_ID.findall(response.text)}


def events(verb=None):
    """Return the recorded events (of ``verb``), oldest first."""
    query = ActivityEvent.select().order_by(ActivityEvent.id)
    return list(query.where(ActivityEvent.verb == verb) if verb else query)


def parties_of(event):
    """Return the audience parties of ``event``."""
    query = ActivityAudience.select().where(ActivityAudience.event == event.id)
    return {row.party for row in query}


@pytest.fixture
def world(app, people):
    """Two companies with contacts and account managers, a task in each, a shared document."""
    admin = people["admin@example.com"]
    with app.app_context():
        acme = services.create_company(
            admin,
            name="Acme Corp",
            account_manager=people["grace@example.com"],
            members=[people["client@example.com"]],
        )
        globex = services.create_company(
            admin, name="Globex", members=[people["jonas@example.com"]]
        )
        acme_task = services.create_task(admin, title="Q3 report", company=acme)
        globex_task = services.create_task(admin, title="Kick-off call", company=globex)
        document = services.create_document(
            admin,
            title="Master services agreement",
            body="v1",
            company=acme,
            owner=people["sales@example.com"],
            shared_with=[people["client@example.com"]],
            access_code="MSA-SECRET-7731",
        )
    return {
        "acme": acme,
        "globex": globex,
        "acme_task": acme_task,
        "globex_task": globex_task,
        "document": document,
    }


# --- the acceptance criteria -----------------------------------------------------------------


def test_a_task_for_a_colleague_on_another_team_reaches_them_and_admins_only(app, people):
    grant_activity(app, "Teammate", "Salesperson")
    dana = client_for(app, "teammate@example.com")
    ines = people["ines@example.com"]
    response = post(
        dana,
        "/workspace/tasks/new",
        {"title": "Prepare the pitch", "status": "open", "assignees": [str(ines.id)]},
    )
    assert response.status_code == 302, response.text
    with app.app_context():
        (event,) = events("task.created")
        task = Task.get()
        assert (event.actor_name, event.object_id, event.object_label) == (
            "Dana Scully",
            str(task.id),
            "Prepare the pitch",
        )
    assert event.id in row_ids(client_for(app, "ines@example.com"))
    assert event.id in row_ids(client_for(app, "admin@example.com"))
    assert event.id in row_ids(dana)
    assert event.id not in row_ids(client_for(app, "sales@example.com"))


def test_a_contact_editing_a_shared_document_shows_on_the_admins_tab(app, people, world):
    claire = client_for(app, "client@example.com")
    document = world["document"]
    url = f"/workspace/documents/{document.id}/edit"
    assert claire.get(url).status_code == 200
    response = post(claire, url, {"title": "Master services agreement", "body": "v2, signed"})
    assert response.status_code == 302, response.text
    with app.app_context():
        (event,) = events("document.updated")
        assert event.actor_name == "Claire Dubois"
        assert json.loads(event.changes) == {"body": ["v1", "v2, signed"]}
        assert Document.get_by_id(document.id).body == "v2, signed"
    admin = client_for(app, "admin@example.com")
    assert event.id in row_ids(admin)
    assert "Claire Dubois" in admin.get("/stream/activity").text
    # Recorded, though the contact can never open the stream.
    assert claire.get("/stream").status_code == 403
    assert claire.get("/stream/activity").status_code == 403


def test_a_contact_opening_a_shared_document_is_recorded_once_an_hour(app, people, world):
    document = world["document"]
    claire = client_for(app, "client@example.com")
    for _ in range(3):
        assert claire.get(f"/workspace/documents/{document.id}").status_code == 200
    # Staff opening it is not a "viewed": the agency's own people work on it all day.
    assert (
        client_for(app, "sales@example.com").get(f"/workspace/documents/{document.id}").status_code
        == 200
    )
    with app.app_context():
        (viewed,) = events("document.viewed")
        assert (viewed.actor_name, viewed.object_label) == ("Claire Dubois", document.title)
        # It relates to the owner and the account manager: the agency sees it on its tab.
        parties = parties_of(viewed)
        assert {
            user_party(people[e].id) for e in ("sales@example.com", "grace@example.com")
        } <= parties
    assert viewed.id in row_ids(client_for(app, "admin@example.com"))
    assert "viewed" in client_for(app, "admin@example.com").get("/stream/activity").text
    # A refused look records nothing; an hour later it is recorded again.
    jonas = client_for(app, "jonas@example.com")
    assert jonas.get(f"/workspace/documents/{document.id}").status_code == 404
    with app.app_context(), clock_at(utcnow() + timedelta(hours=1, seconds=1)):
        assert claire.get(f"/workspace/documents/{document.id}").status_code == 200
    with app.app_context():
        assert [e.actor_name for e in events("document.viewed")] == ["Claire Dubois"] * 2


def test_deleting_a_company_leaves_its_history_readable(app, people, world):
    acme = world["acme"]
    admin = client_for(app, "admin@example.com")
    assert "1 task(s) and 1 document(s)" in admin.get(f"/workspace/companies/{acme.id}/delete").text
    response = post(admin, f"/workspace/companies/{acme.id}/delete")
    assert response.status_code == 302
    with app.app_context():
        assert Company.get_or_none(Company.id == acme.id) is None
        assert Task.get_or_none(Task.id == world["acme_task"].id) is None
        assert Task.get_or_none(Task.id == world["globex_task"].id) is not None
        (deleted,) = events("company.deleted")
        assert deleted.object_label == "Acme Corp"
        (task_deleted,) = events("task.deleted")
        assert (task_deleted.object_label, task_deleted.target_label) == ("Q3 report", "Acme Corp")
        assert len(events("document.deleted")) == 1
        assert len(events("company.created")) == 2  # the creation is still there too
    history = admin.get(f"/stream/activity?object=company:{acme.id}")
    assert history.status_code == 200
    assert {deleted.id, events("company.created")[0].id} <= {
        int(value) for value in ROW_ID.findall(history.text)
    }
    assert "“Acme Corp”" in history.text
    assert f'href="/workspace/companies/{acme.id}"' not in history.text  # gone: no link
    assert admin.get(f"/workspace/companies/{acme.id}").status_code == 404


@pytest.mark.parametrize(
    "breakage",
    [
        "ALTER TABLE activity_event RENAME TO activity_event_moved",
        "DROP TABLE activity_audience",  # the event row is written, its audience is not
    ],
)
def test_a_change_whose_record_fails_is_rolled_back_with_a_clear_error(
    app, people, world, breakage
):
    task = world["globex_task"]
    admin = client_for(app, "admin@example.com")
    with app.app_context():
        database.execute_sql(breakage)
    response = post(admin, "/workspace/tasks/new", {"title": "Never saved", "status": "open"})
    assert response.status_code == 503
    assert "Your change was not saved" in response.text
    assert "Traceback" not in response.text
    response = post(
        admin, f"/workspace/tasks/{task.id}/edit", {"title": "Renamed", "status": "done"}
    )
    assert response.status_code == 503
    response = post(admin, "/workspace/tasks/bulk", {"task": [str(task.id)], "action": "complete"})
    assert response.status_code == 503
    response = post(admin, f"/workspace/companies/{world['acme'].id}/delete")
    assert response.status_code == 503
    with app.app_context():
        assert not Task.select().where(Task.title == "Never saved").exists()
        unchanged = Task.get_by_id(task.id)
        assert (unchanged.title, unchanged.status) == ("Kick-off call", "open")
        assert Company.select().count() == 2
        assert Task.select().count() == 2


def test_a_change_that_fails_records_nothing(app, people, world):
    admin = people["admin@example.com"]
    globex = world["globex"]
    with app.app_context():
        before = len(events())
        with pytest.raises(ValidationError) as caught:
            services.update_company(admin, globex, name="Acme Corp")  # the unique index refuses
        assert caught.value.field == "name"
        assert len(events()) == before
        assert Company.get_by_id(globex.id).name == "Globex"
    client = client_for(app, "admin@example.com")
    response = post(client, f"/workspace/companies/{globex.id}/edit", {"name": "Acme Corp"})
    assert response.status_code == 400
    assert "name:" in response.text and "already exists" in response.text
    response = post(client, "/workspace/companies/new", {"name": "Acme Corp"})
    assert response.status_code == 400
    with app.app_context():
        assert len(events()) == before
        assert Company.select().count() == 2


def test_a_masked_field_is_recorded_as_changed_never_its_value(app, people, world):
    admin = client_for(app, "admin@example.com")
    document = world["document"]
    owner = str(people["sales@example.com"].id)
    form = {"title": document.title, "body": "v1", "owner": owner, "access_code": "NEW-CODE-1234"}
    form["company"] = str(world["acme"].id)
    form["shared_with"] = [str(people["client@example.com"].id)]
    assert post(admin, f"/workspace/documents/{document.id}/edit", form).status_code == 302
    assert post(admin, f"/workspace/documents/{document.id}/delete").status_code == 302
    with app.app_context():
        recorded = [event for event in events() if event.object_type == "document"]
        assert [event.verb for event in recorded] == [
            "document.created",
            "document.updated",
            "document.deleted",
        ]
        (updated,) = events("document.updated")
        assert json.loads(updated.changes) == {"access_code": [MASK, MASK]}
        assert updated.summary == "Access code changed"
        for event in recorded:
            for secret in ("MSA-SECRET-7731", "NEW-CODE-1234"):
                assert secret not in (event.changes or "")
                assert secret not in event.summary
            assert "updated_at" not in (event.changes or "")  # excluded field
    detail = admin.get(f"/stream/activity/{updated.id}")
    assert detail.status_code == 200
    assert "NEW-CODE-1234" not in detail.text and "Access code" in detail.text


def test_an_update_that_changes_nothing_records_nothing(app, people, world):
    admin = people["admin@example.com"]
    task = world["acme_task"]
    with app.app_context():
        before = len(events())
        stamp = Task.get_by_id(task.id).updated_at
        assert services.update_task(admin, task, title="Q3 report", status="open") is None
        assert services.update_company(admin, world["acme"], name=" Acme Corp ") is None
        assert services.complete_tasks(admin, []) == []
        assert len(events()) == before
        assert Task.get_by_id(task.id).updated_at == stamp
    client = client_for(app, "admin@example.com")
    form = {"title": "Q3 report", "description": "", "status": "open", "company": world["acme"].id}
    response = post(client, f"/workspace/tasks/{task.id}/edit", form, follow_redirects=True)
    assert "Nothing changed." in response.text
    with app.app_context():
        assert len(events()) == before
        event = services.update_task(admin, task, title="Q3 report (final)")
        assert json.loads(event.changes) == {"title": ["Q3 report", "Q3 report (final)"]}


def test_swapping_namesakes_is_a_recorded_change(app, people, world):
    admin = people["admin@example.com"]
    with app.app_context():
        namesake = create_user("Claire Dubois", "claire.d@example.com", "Client")
        event = services.update_company(admin, world["acme"], members=[namesake])
        assert event is not None and event.verb == "company.updated"
        assert json.loads(event.changes) == {"members": [["Claire Dubois"], ["Claire Dubois"]]}
        assert user_party(namesake.id) in parties_of(event)
        assert user_party(people["client@example.com"].id) in parties_of(event)


def test_bulk_mark_done_records_one_event_per_task(app, people, world):
    admin = people["admin@example.com"]
    with app.app_context():
        done = services.create_task(admin, title="Already done", status="done")
        extra = services.create_task(admin, title="Third", assignees=[people["ines@example.com"]])
    ids = [world["acme_task"].id, world["globex_task"].id, done.id, extra.id]
    client = client_for(app, "admin@example.com")
    selected = [str(task_id) for task_id in ids]
    response = post(client, "/workspace/tasks/bulk", {"task": selected, "action": "complete"})
    assert response.status_code == 302
    with app.app_context():
        completed = events("task.completed")
        assert sorted(int(event.object_id) for event in completed) == sorted(
            [world["acme_task"].id, world["globex_task"].id, extra.id]
        )
        assert all(json.loads(e.changes) == {"status": ["open", "done"]} for e in completed)
        assert {task.status for task in Task.select()} == {"done"}
        third = next(event for event in completed if event.object_id == str(extra.id))
        assert user_party(people["ines@example.com"].id) in parties_of(third)
    # Bulk delete asks first, then records one event per task.
    asked = post(client, "/workspace/tasks/bulk", {"task": selected, "action": "delete"})
    assert asked.status_code == 200 and "Delete 4 tasks?" in asked.text
    with app.app_context():
        assert Task.select().count() == 4
    form = {"task": selected, "action": "delete", "confirmed": "1"}
    assert post(client, "/workspace/tasks/bulk", form).status_code == 302
    with app.app_context():
        assert Task.select().count() == 0
        assert sorted(int(event.object_id) for event in events("task.deleted")) == sorted(ids)


def test_a_contact_sees_only_what_is_shared_with_them(app, people, world):
    claire = client_for(app, "client@example.com")
    assert claire.get(f"/workspace/tasks/{world['globex_task'].id}").status_code == 404
    assert claire.get(f"/workspace/tasks/{world['globex_task'].id}/edit").status_code == 404
    assert claire.get(f"/workspace/companies/{world['globex'].id}").status_code == 404
    assert claire.get(f"/workspace/tasks/{world['acme_task'].id}").status_code == 200
    assert claire.get(f"/workspace/companies/{world['acme'].id}").status_code == 200
    listed = claire.get("/workspace/tasks").text
    assert "Q3 report" in listed and "Kick-off call" not in listed
    assert "Globex" not in claire.get("/workspace/companies").text
    assert claire.get("/stream").status_code == 403
    assert claire.get("/stream/activity").status_code == 403
    # She may comment on her company's task, not edit or delete it, nor create anything.
    task_id = world["acme_task"].id
    response = post(claire, f"/workspace/tasks/{task_id}/comments", {"body": "Looks good"})
    assert response.status_code == 302
    assert post(claire, f"/workspace/tasks/{task_id}/edit", {"title": "x"}).status_code == 403
    assert post(claire, f"/workspace/tasks/{task_id}/delete").status_code == 403
    assert post(claire, "/workspace/companies/new", {"name": "Mine"}).status_code == 403
    other = {"task": [str(world["globex_task"].id)], "action": "complete"}
    response = post(claire, "/workspace/tasks/bulk", other)
    assert response.status_code == 404
    with app.app_context():
        (comment,) = events("task.commented")
        assert (comment.actor_name, comment.summary) == ("Claire Dubois", "Looks good")
        assert user_party(people["grace@example.com"].id) in parties_of(comment)  # account mgr
        assert TaskComment.select().count() == 1


# --- more of the service layer ---------------------------------------------------------------


def test_the_audience_names_the_parties_not_their_teams(app, people, world):
    dana, ines = people["teammate@example.com"], people["ines@example.com"]
    with app.app_context():
        task = services.create_task(dana, title="Audit", company=world["acme"], assignees=[ines])
        (event,) = [e for e in events("task.created") if e.object_id == str(task.id)]
        parties = parties_of(event)
        assert user_party(dana.id) in parties and user_party(ines.id) in parties
        assert user_party(people["grace@example.com"].id) in parties  # Acme's account manager
        assert team_party(dana.team_ids()[0]) in parties  # the actor's team
        assert team_party(ines.team_ids()[0]) not in parties  # not the assignee's team
        # Unassigning someone still tells them.
        event = services.update_task(dana, task, assignees=[])
        assert user_party(ines.id) in parties_of(event)
        assert json.loads(event.changes) == {"assignees": [["Ines Garcia"], []]}


def test_service_verbs_for_completion_and_sharing(app, people, world):
    admin = people["admin@example.com"]
    with app.app_context():
        event = services.update_task(admin, world["acme_task"], status="done")
        assert event.verb == "task.completed"
        event = services.update_document(admin, world["document"], shared_with=[])
        assert event.verb == "document.updated"  # only a removal
        event = services.update_document(
            admin,
            world["document"],
            shared_with=[people["kemi@example.com"], people["client@example.com"]],
        )
        assert event.verb == "document.shared"
        assert event.target_label == "Acme Corp"
        assert json.loads(event.changes) == {"shared_with": [[], ["Claire Dubois", "Kemi Adeyemi"]]}
        assert user_party(people["kemi@example.com"].id) in parties_of(event)


def test_services_refuse_what_the_actor_may_not_do(app, people, world):
    claire, frankie = people["client@example.com"], people["freelancer@example.com"]
    document = world["document"]
    with app.app_context():
        with pytest.raises(Denied):
            services.update_document(claire, document, access_code="guess")
        with pytest.raises(Denied):
            services.delete_document(claire, document)
        with pytest.raises(Denied):
            services.create_task(frankie, title="Mine")
        with pytest.raises(Denied):
            services.complete_tasks(frankie, [world["acme_task"]])
        with pytest.raises(Denied):
            services.comment_on_task(claire, world["globex_task"], "hello")
        with pytest.raises(ValidationError) as caught:
            services.create_company(people["admin@example.com"], name="Initech", members=[frankie])
        assert caught.value.field == "members"
        assert not Company.select().where(Company.name == "Initech").exists()


def test_a_freelancer_sees_and_completes_only_their_tasks(app, people, world):
    frankie = people["freelancer@example.com"]
    with app.app_context():
        mine = services.create_task(
            people["admin@example.com"], title="Design mockups", assignees=[frankie]
        )
    client = client_for(app, "freelancer@example.com")
    listed = client.get("/workspace/tasks").text
    assert "Design mockups" in listed and "Q3 report" not in listed
    assert client.get(f"/workspace/tasks/{world['acme_task'].id}").status_code == 404
    assert post(client, f"/workspace/tasks/{mine.id}/edit", {"title": "x"}).status_code == 403
    assert post(client, f"/workspace/tasks/{mine.id}/complete").status_code == 302
    with app.app_context():
        (event,) = events("task.completed")
        assert (event.actor_name, event.object_label) == ("Frankie Moreau", "Design mockups")
        assert Task.get_by_id(mine.id).status == "done"
    assert client.get("/stream").status_code == 403


# --- pages -----------------------------------------------------------------------------------


def test_bad_input_is_a_400_naming_the_field(app, people, world):
    client = client_for(app, "admin@example.com")
    response = post(client, "/workspace/tasks/new", {"title": "  ", "status": "open"})
    assert response.status_code == 400
    assert "title:" in response.text and "must not be empty" in response.text
    response = post(client, "/workspace/tasks/new", {"title": "A", "status": "someday"})
    assert response.status_code == 400 and "status:" in response.text
    response = post(client, "/workspace/tasks/new", {"title": "A", "company": "99999"})
    assert response.status_code == 400 and "company:" in response.text
    response = post(client, "/workspace/tasks/new", {"title": "A", "assignees": ["99999"]})
    assert response.status_code == 400 and "assignees:" in response.text
    response = post(client, "/workspace/tasks/bulk", {"action": "complete"})
    assert response.status_code == 400 and "task:" in response.text
    response = post(client, "/workspace/documents/new", {"title": "Doc", "owner": ""})
    assert response.status_code == 400 and "owner:" in response.text
    response = post(client, "/workspace/companies/new", {"name": "x" * 121})
    assert response.status_code == 400 and "name:" in response.text
    # The form comes back with what was typed.
    response = post(client, "/workspace/tasks/new", {"title": "Keep me", "status": "bogus"})
    assert 'value="Keep me"' in response.text
    # A form without its CSRF token is refused.
    assert client.post("/workspace/tasks/new", data={"title": "A"}).status_code == 400
    with app.app_context():
        assert Task.select().count() == 2


def test_create_edit_delete_pages_work_with_and_without_htmx(app, people):
    client = client_for(app, "admin@example.com")
    hx = {"HX-Request": "true", "HX-Boosted": "true"}
    for form_url in (
        "/workspace/companies/new",
        "/workspace/tasks/new",
        "/workspace/documents/new",
    ):
        page = client.get(form_url)
        assert page.status_code == 200
        assert f'<form class="card form" method="post" action="{form_url}">' in page.text
        assert 'name="csrf_token"' in page.text
    response = post(client, "/workspace/companies/new", {"name": "Initech"}, headers=hx)
    assert response.status_code == 302
    company_id = int(response.headers["Location"].rsplit("/", 1)[1])
    response = post(client, "/workspace/companies/new", {"name": ""}, headers=hx)
    assert response.status_code == 400 and response.headers["HX-Push-Url"] == "false"
    page = client.get(f"/workspace/companies/{company_id}", headers=hx)
    assert page.status_code == 200 and "<html" in page.text  # boosted: a whole page
    owner = str(people["admin@example.com"].id)
    form = {"title": "Plan", "company": company_id, "owner": owner}
    response = post(client, "/workspace/documents/new", form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Plan" in page.text and "Initech" in page.text
    response = post(client, f"/workspace/companies/{company_id}/edit", {"name": "Initech Ltd"})
    assert response.status_code == 302
    with app.app_context():
        assert [event.verb for event in events()] == [
            "company.created",
            "document.created",
            "company.updated",
        ]
        assert events("company.updated")[0].object_label == "Initech Ltd"


def test_signed_out_visitors_are_sent_to_sign_in(app, client, people):
    response = client.get("/workspace/tasks")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_signed_in_user_gets_the_workspace_links(app, people):
    for email in ("client@example.com", "admin@example.com", "freelancer@example.com"):
        html = client_for(app, email).get("/profile").text
        flyout = re.search(r'<nav id="flyout".*?</nav>', html, re.S).group(0)
        for label in ("Companies", "Tasks", "Documents"):
            assert f'<a href="/workspace/{label.lower()}">{label}</a>' in flyout


def test_lists_stay_free_of_per_row_queries(app, people, world):
    admin = people["admin@example.com"]
    client = client_for(app, "admin@example.com")
    urls = ("/workspace/companies", "/workspace/tasks", "/workspace/documents")
    counts = {}
    for url in urls:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts[url] = counter.count
    with app.app_context():
        for index in range(5):
            company = services.create_company(admin, name=f"Company {index}")
            services.create_task(admin, title=f"Task {index}", company=company, assignees=[admin])
            services.create_document(admin, title=f"Doc {index}", company=company)
    for url in urls:
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        assert counter.count == counts[url], url


# --- hooks -----------------------------------------------------------------------------------


def test_object_urls_link_existing_workspace_objects_only(app, people, world):
    refs = {
        ("task", str(world["acme_task"].id)),
        ("company", str(world["globex"].id)),
        ("document", str(world["document"].id)),
        ("task", "99999"),
        ("project", "1"),
        ("task", "not-a-number"),
    }
    with app.test_request_context():
        with count_queries() as counter:
            answers = hooks(app).object_urls(refs=refs)
        assert counter.count == 1  # one statement for every workspace type
    urls = {}
    for answer in answers:
        urls.update(answer)
    assert urls == {
        ("task", str(world["acme_task"].id)): f"/workspace/tasks/{world['acme_task'].id}",
        ("company", str(world["globex"].id)): f"/workspace/companies/{world['globex'].id}",
        ("document", str(world["document"].id)): f"/workspace/documents/{world['document'].id}",
    }


def test_seed_demo_is_a_month_of_real_actions_in_time_order(app, people):
    with app.app_context():
        hooks(app).seed_demo()
        companies = Company.select().count()
        assert (companies, Document.select().count()) == (5, 4)
        assert ActivityEvent.select().count() > 200
        assert events("task.commented") and events("task.completed") and events("task.deleted")
        # The history tells one story: ids follow time, nothing is touched before it exists
        # or after it is deleted, and every object still there is named as it is now.
        history = list(ActivityEvent.select().order_by(ActivityEvent.id))
        assert [e.occurred_at for e in history] == sorted(e.occurred_at for e in history)
        assert history[-1].occurred_at - history[0].occurred_at > timedelta(days=25)
        born, gone = {}, set()
        for event in history:
            key = (event.object_type, event.object_id)
            if event.action == "created":
                born[key] = event.id
            assert key in born or event.object_type not in ("task", "company", "document"), (
                event.verb
            )
            assert key not in gone, f"{event.verb} after the deletion of {key}"
            if event.action == "deleted":
                gone.add(key)
        for task in Task.select():
            last = [e for e in history if (e.object_type, e.object_id) == ("task", str(task.id))][
                -1
            ]
            assert last.object_label == task.title
        total = ActivityEvent.select().count()
        hooks(app).seed_demo()
        assert Company.select().count() == companies
        assert ActivityEvent.select().count() == total
        for event in events("document.created"):
            assert "MSA-7731" not in (event.changes or "") + event.summary


# --- stale copies (two people editing at once) -------------------------------------------------


def test_an_update_from_a_stale_copy_keeps_the_other_change_and_records_only_its_own(
    app, people, world
):
    owner = people["owner@example.com"]
    with app.app_context():
        first = Task.get_by_id(world["acme_task"].id)
        second = Task.get_by_id(world["acme_task"].id)  # loaded before the first change
        services.update_task(owner, first, title="Renamed by A")
        event = services.update_task(owner, second, description="edited by B")
        fresh = Task.get_by_id(world["acme_task"].id)
        assert (fresh.title, fresh.description) == ("Renamed by A", "edited by B")
        assert set(json.loads(ActivityEvent.get_by_id(event.id).changes)) == {"description"}


def test_completing_from_stale_copies_records_one_completion(app, people, world):
    owner = people["owner@example.com"]
    with app.app_context():
        first = Task.get_by_id(world["acme_task"].id)
        second = Task.get_by_id(world["acme_task"].id)
        assert len(services.complete_tasks(owner, [first])) == 1
        assert services.complete_tasks(owner, [second]) == []
        completions = ActivityEvent.select().where(
            (ActivityEvent.verb == "task.completed")
            & (ActivityEvent.object_id == str(world["acme_task"].id))
        )
        assert completions.count() == 1
