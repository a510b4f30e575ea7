"""Object-level rules one at a time, each as a person meets it: who may ask for the Super
Admin's password link, which documents a Contact opens and whose access codes she reads.

tests/test_authorization_matrix.py checks every object URL for every viewer; these tests name
the rule that broke.
"""

import pytest

from core.events import ActivityEvent
from core.people import User
from plugins.people import accounts
from plugins.people.checks import Denied
from plugins.people.models import OneTimeLink
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.object_world import FORMER_STAFF
from tests.object_world import build_world


def signed_in(app, email):
    """Return a test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def post(client, url):
    """POST an empty form with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token_of(client)})


def links_for(app, user):
    """Return how many one-time links were ever issued for ``user``."""
    with app.app_context():
        return OneTimeLink.select().where(OneTimeLink.user == user.id).count()


def link_events(app, user):
    """Return how many ``user.password_link`` events name ``user``."""
    with app.app_context():
        query = ActivityEvent.select().where(
            (ActivityEvent.verb == "user.password_link") & (ActivityEvent.object_id == str(user.id))
        )
        return query.count()


# --- the Super Admin's password ----------------------------------------------------------------


def test_an_admin_may_not_get_a_password_link_for_the_super_admin(app, people):
    owner, dana = people["owner@example.com"], people["teammate@example.com"]
    avery = signed_in(app, "admin@example.com")
    refused = post(avery, f"/people/{owner.id}/password-link")
    assert refused.status_code == 403
    assert "Only the Super Admin" in refused.text and "/password/" not in refused.text
    assert links_for(app, owner) == 0 and link_events(app, owner) == 0
    # The refusal is the service's own, whatever page calls it.
    with app.app_context(), pytest.raises(Denied):
        accounts.send_password_link(people["admin@example.com"], owner)
    assert links_for(app, owner) == 0
    # The guard is about the Super Admin only: the Admin resets anyone else's.
    assert post(avery, f"/people/{dana.id}/password-link").status_code == 200
    assert links_for(app, dana) == 1


def test_the_super_admin_gets_a_password_link_for_themselves(app, people):
    owner = people["owner@example.com"]
    morgan = signed_in(app, "owner@example.com")
    issued = post(morgan, f"/people/{owner.id}/password-link")
    assert issued.status_code == 200 and "/password/" in issued.text
    assert links_for(app, owner) == 1 and link_events(app, owner) == 1


# --- documents and their access codes for Contacts ---------------------------------------------


@pytest.fixture
def world(app, people):
    """The object world of tests/object_world.py."""
    with app.app_context():
        return build_world(people)


def document(world, title):
    """Return the world's document named ``title``."""
    return next(thing for thing in world.of("document") if thing.title == title)


def test_a_client_opens_only_documents_owned_by_or_shared_with_her(app, world):
    claire = signed_in(app, "client@example.com")
    shared, unshared = document(world, "Master agreement"), document(world, "Acme pricing notes")
    # Shared with her: she reads it, but not its access code.
    page = claire.get(f"/workspace/documents/{shared.id}")
    assert page.status_code == 200 and shared.title in page.text
    assert shared.code not in page.text and "Access code" not in page.text
    form = claire.get(f"/workspace/documents/{shared.id}/edit")
    assert form.status_code == 200 and shared.code not in form.text
    # A document of her own company that nobody shared with her does not exist for her.
    for url in ("", "/edit", "/delete"):
        answer = claire.get(f"/workspace/documents/{unshared.id}{url}")
        assert answer.status_code == 404, url
        assert unshared.title not in answer.text and unshared.code not in answer.text
    company = claire.get(f"/workspace/companies/{unshared.company}")
    assert company.status_code == 200
    assert shared.title in company.text and unshared.title not in company.text
    listed = claire.get("/workspace/documents").text
    assert shared.title in listed and unshared.title not in listed
    assert "CODE-" not in listed + company.text


def test_sharing_opens_a_document_of_another_company_without_its_access_code(app, world):
    room = document(world, "Initech data room")  # Initech: Claire is not one of its contacts
    claire = signed_in(app, "client@example.com")
    page = claire.get(f"/workspace/documents/{room.id}")
    assert page.status_code == 200 and room.code not in page.text
    assert claire.get(f"/workspace/companies/{room.company}").status_code == 404
    assert (
        signed_in(app, "jonas@example.com").get(f"/workspace/documents/{room.id}").status_code
        == 404
    )


def test_the_owner_of_a_document_reads_its_access_code_after_leaving_the_staff(app, world):
    draft = document(world, "Olga draft notes")
    with app.app_context():
        assert User.get(User.email == FORMER_STAFF).role.kind == "contact"
    olga = signed_in(app, FORMER_STAFF)
    page = olga.get(f"/workspace/documents/{draft.id}")
    assert page.status_code == 200 and draft.code in page.text
    # She edits its title and text only: the edit form has no access code.
    assert draft.code not in olga.get(f"/workspace/documents/{draft.id}/edit").text
    # Nobody else who is not staff reads it.
    claire = signed_in(app, "client@example.com")
    assert claire.get(f"/workspace/documents/{draft.id}").status_code == 404


def test_staff_read_every_access_code(app, world):
    dana = signed_in(app, "teammate@example.com")
    assert len(world.of("document")) >= 3  # the loop below has something to check
    for thing in world.of("document"):
        page = dana.get(f"/workspace/documents/{thing.id}")
        assert page.status_code == 200 and thing.code in page.text


def test_a_refusal_says_what_was_refused(app, world):
    task = world.of("task")[0]  # Acme's: Claire sees it
    claire = signed_in(app, "client@example.com")
    refused = claire.post(
        f"/workspace/tasks/{task.id}/edit", data={"csrf_token": csrf_token_of(claire)}
    )
    assert refused.status_code == 403 and "You may not edit tasks." in refused.text
