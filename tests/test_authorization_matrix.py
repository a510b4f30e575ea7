"""The authorization matrix: every URL rule x method, every role, several grant scenarios.

``docs/authorization.json`` names a policy for every rule; this test derives the expected
outcome from a small reference model of the product rules (docs/design.md, section 2),
independent of the app's code, and compares it with what the app answers: 0 mismatches, no
rule left out.
"""

import importlib.metadata
import json
from pathlib import Path

import pytest

from core.auth.clients import Client
from core.auth.sessions import start_session
from core.db import database
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.email.models import EmailMessage
from plugins.people.models import OneTimeLink
from plugins.settings.models import TabGrant
from tests.examples import workspace
from tests.object_world import FORMER_STAFF
from tests.object_world import build_world
from tests.object_world import email_scope
from tests.object_world import is_staff
from tests.object_world import kind_of
from tests.object_world import may_complete
from tests.object_world import may_manage
from tests.object_world import outbox
from tests.object_world import sees
from tests.object_world import sees_code
from tests.object_world import sees_email

# The workspace example is the host platform whose pages the matrix checks, object by object.
MESSAGE_MODELS = workspace("messages").MODELS
WORKSPACE_MODELS = workspace("models").MODELS

DOCS = Path(__file__).parent.parent / "docs"
MATRIX = json.loads((DOCS / "authorization.json").read_text())
# A built-in plugin's rules may live in docs/authorization.<plugin>.json; an installed plugin
# ships its own as authorization.json beside its code.
EXTRA = sorted(DOCS.glob("authorization.*.json"))
for entry_point in importlib.metadata.entry_points(group="activity_stream"):
    package = Path(entry_point.load().__file__).parent
    EXTRA += [package / "authorization.json"] if (package / "authorization.json").exists() else []
for extra in EXTRA:
    MATRIX["routes"].update(json.loads(extra.read_text()).get("routes", {}))
# Object-level rules: every URL of one object, checked per object (docs/authorization.objects.json).
OBJECT_MATRIX = json.loads((DOCS / "authorization.objects.json").read_text())
OBJECTS = OBJECT_MATRIX["objects"]
# The URL prefixes whose objects the world of tests/object_world.py holds: each of their rules
# naming an object must be checked per object.
OBJECT_PREFIXES = ("/workspace/", "/stream/email/")
# Every tab named by a policy, but Settings, is granted by role, person and team.
CONFIGURABLE_TABS = {
    example["policy"].split(":", 1)[1]
    for examples in MATRIX["routes"].values()
    for example in examples
    if example["policy"].startswith("tab:")
} - {"settings"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
STAFF_KINDS = {"owner", "admin", "staff"}
VIEWERS = (
    None,  # signed out
    "owner@example.com",
    "admin@example.com",
    "pm@example.com",
    "office@example.com",
    "teammate@example.com",
    "sales@example.com",
    "hiro@example.com",
    "ines@example.com",
    "freelancer@example.com",
    "client@example.com",
    "prospect@example.com",
)


def scenario_default():
    """A new install: Super Admin and Admin see the built-in tabs."""


def scenario_mixed():
    """Grants by role, person and team, plus rows that must be ignored (Contacts, Freelancers)."""
    role = {role.name: role for role in Role.select()}
    TabGrant.create(tab="activity", role=role["Teammate"])
    TabGrant.create(tab="activity", user=User.get(User.email == "sales@example.com"))
    TabGrant.create(tab="settings", team=Team.get(Team.name == "Sales"))  # never grants Settings
    TabGrant.create(tab="activity", user=User.get(User.email == "client@example.com"))
    TabGrant.create(tab="activity", role=role["Freelancer"])


def scenario_revoked():
    """Every grant removed: only the owner sees tabs; admins still reach Settings."""
    TabGrant.delete().execute()


SCENARIOS = {"default": scenario_default, "mixed": scenario_mixed, "revoked": scenario_revoked}


def expected_tabs(user):
    """Reference model: the tabs ``user`` may see under the grants now stored."""
    if user is None or user.role.kind not in STAFF_KINDS:
        return set()
    tabs = CONFIGURABLE_TABS | {"settings"}
    if user.role.kind == "owner":
        return tabs
    teams = {m.team_id for m in TeamMembership.select().where(TeamMembership.user == user.id)}
    granted = {
        grant.tab
        for grant in TabGrant.select()
        if grant.role_id == user.role_id or grant.user_id == user.id or grant.team_id in teams
    }
    visible = granted & CONFIGURABLE_TABS
    if user.role.kind == "admin":
        visible.add("settings")
    return visible


def expected_outcome(policy, user):
    """Return ``allowed``, ``login``, ``forbidden`` or ``missing`` for ``policy`` and ``user``."""
    if policy == "public":
        return "allowed"
    if user is None:
        return "login"
    if policy == "signed_in":
        return "allowed"
    staff = user.role.kind in STAFF_KINDS
    if not staff:
        return "forbidden"
    if policy == "no_such_tab":
        return "missing"
    if policy == "staff":
        return "allowed"
    visible = expected_tabs(user)
    if policy == "stream":
        return "allowed" if visible else "forbidden"
    return "allowed" if policy.split(":", 1)[1] in visible else "forbidden"


ALLOWED_ANSWERS = (200, 204, 302, 303)


def actual_outcome(policy, status, headers, body, answers=ALLOWED_ANSWERS):
    """Classify a response the way ``expected_outcome`` speaks.

    Reaching a rule counts as ``allowed`` only with one of the example's ``answers``: a route
    broken for everyone (a 400 or 404 where none is expected) is a mismatch, not a pass.
    """
    if status >= 500:
        return f"error {status}"
    if policy == "public":
        # Sign-in and sign-out pages answer anyone; a failed sign-in is a 401 page, not a denial.
        if status == 403:
            return "forbidden"
        return "allowed" if status in answers else f"unexpected {status}"
    # Sent to sign in (with the page to come back to), unlike a sign-out that lands on /login.
    location = headers.get("Location", "") + headers.get("HX-Redirect", "")
    if status in (302, 401) and "/login?next=" in location:
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404 and "no such page" in body.lower():
        return "missing"
    if status in answers:
        return "allowed"
    return f"unexpected {status}"


def rule_keys(app):
    """Return ``"METHOD rule"`` for every rule and method the app serves."""
    return {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        for method in rule.methods - IGNORED_METHODS
    }


def test_every_rule_has_an_entry(app):
    missing = sorted(rule_keys(app) - set(MATRIX["routes"]))
    assert missing == [], f"rules with no entry in docs/authorization.json: {missing}"


def test_the_matrix_names_no_rule_that_does_not_exist(app):
    assert sorted(set(MATRIX["routes"]) - rule_keys(app)) == []


def request_as(app, user_id, method, url, data, forged):
    """Make one request as ``user_id`` (None: signed out), each in a fresh session.

    Requests run outside any app context, as in production, so nothing cached on ``g`` leaks
    from one request to the next. Returns ``(status, headers, body)``.
    """
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "matrix-token"  # as a browser that loaded a form would hold
        if user_id is not None:
            with app.app_context(), database.atomic():
                user = User.get_by_id(user_id)
                start_session(user, Client())  # signed in as a browser would be
                session["_user_id"] = user.get_id()
            session["_fresh"] = True
    headers = {"X-CSRF-Token": "matrix-token"}
    if forged:
        headers.update({"HX-Request": "true", "HX-Target": "panel", "HX-Boosted": "true"})
    response = client.open(url, method=method, data=data or {}, headers=headers)
    result = (response.status_code, response.headers, response.get_data(as_text=True))
    response.close()
    return result


def expected_grid(app, people):
    """Return ``{email: {policy: outcome}}`` from the reference model, for the stored grants."""
    policies = {example["policy"] for examples in MATRIX["routes"].values() for example in examples}
    with app.app_context():
        grid = {}
        for email in VIEWERS:
            user = User.get(User.email == email) if email else None
            grid[email] = {policy: expected_outcome(policy, user) for policy in policies}
        return grid


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_rule_answers_as_the_matrix_says(app, people, scenario):
    with app.app_context():
        with database.atomic():
            SCENARIOS[scenario]()
        record_activity(people["owner@example.com"], "task.created", Ref("task", 1, "Matrix"))
    grid = expected_grid(app, people)
    mismatches = []
    for email in VIEWERS:
        user_id = people[email].id if email else None
        for forged in (False, True):
            for key, examples in MATRIX["routes"].items():
                method = key.split(" ", 1)[0]
                for example in examples:
                    expected = grid[email][example["policy"]]
                    status, headers, body = request_as(
                        app, user_id, method, example["url"], example.get("data"), forged
                    )
                    answers = example.get("answers", ALLOWED_ANSWERS)
                    actual = actual_outcome(example["policy"], status, headers, body, answers)
                    if actual != expected:
                        mismatches.append(
                            f"{scenario} {email} {method} {example['url']} forged={forged}: "
                            f"expected {expected}, got {actual} ({status})"
                        )
    assert mismatches == [], "\n".join(mismatches[:40])


# --- object level: every object URL, per object, per viewer ---------------------------------

# The matrix's viewers, a Client of another company, and a former Staff Member (now a Client)
# who still owns a document.
OBJECT_VIEWERS = (*VIEWERS, "jonas@example.com", FORMER_STAFF)
LIST_URLS = {
    "company": "/workspace/companies",
    "task": "/workspace/tasks",
    "document": "/workspace/documents",
    "message": "/workspace/messages",  # received
}


def object_rule_keys(app):
    """Return ``"METHOD rule"`` for every rule naming one object under ``OBJECT_PREFIXES``."""
    return {
        key
        for key in rule_keys(app)
        if "<int:" in key and key.split(" ", 1)[1].startswith(OBJECT_PREFIXES)
    }


def test_every_object_rule_is_checked_per_object(app):
    missing = sorted(object_rule_keys(app) - set(OBJECTS) - set(OBJECT_MATRIX["elsewhere"]))
    assert missing == [], (
        f"object rules with no entry in docs/authorization.objects.json: {missing}"
    )
    assert sorted((set(OBJECTS) | set(OBJECT_MATRIX["elsewhere"])) - rule_keys(app)) == []


def expected_object_answer(example, viewer, thing, world, tabs):
    """Return the answer the reference model expects of ``example`` on ``thing`` for ``viewer``
    (``"login"``, a status), or None where the request is not sent (it would change the world).
    The rules of each check are in docs/authorization.objects.json."""
    check, answer = example["check"], example.get("answer")
    if viewer is None:
        return "login"
    if check in ("email", "resend"):
        if "email" not in tabs:
            return 403
        if not sees_email(viewer, thing, email_scope(viewer)):
            return 404
        if check == "resend":
            return 403 if kind_of(viewer) not in ("owner", "admin") else None
        return answer
    if not sees(viewer, thing, world):
        return 404
    if check in ("see", "edit_document", "see_then_refuse_input"):
        return answer
    if check == "complete":
        if not may_complete(viewer, thing):
            return 403
        return answer if thing.done else None
    if not may_manage(viewer):
        return 403
    return None if check == "delete" else answer


def answer_of(status, headers):
    """Return ``"login"`` for a redirect to sign in, else the status."""
    location = headers.get("Location", "") + headers.get("HX-Redirect", "")
    return "login" if status in (302, 401) and "/login?next=" in location else status


def content_mismatches(example, viewer, thing, world, status, body):
    """Return what the page shows that the viewer may not see, or misses that they may."""
    found = []
    title = thing.title
    if status == 404 and title in body:  # (a 403 is for an object the viewer sees)
        found.append(f"a page for an object the viewer may not see names {title!r}")
    if thing.kind == "document" and thing.code and viewer is not None:
        # The code is shown on the document's page to those who may read it, and in its edit
        # form to Staff Members; nowhere else (a refused form shows what was posted).
        shown, reached = thing.code in body, status == 200
        may = {"see": sees_code(viewer, thing), "edit_document": is_staff(viewer)}
        if shown != (reached and may.get(example["check"], False)):
            found.append(f"access code shown={shown}")
    if status == 200 and example["check"] == "see":
        if title not in body:
            found.append(f"{title!r} missing from its own page")
        if thing.kind == "company":
            for other in world.of("task") + world.of("document"):
                if other.company == thing.id and (other.title in body) != sees(
                    viewer, other, world
                ):
                    found.append(f"{other.kind} {other.title!r} listed={other.title in body}")
    return found


def objects_for(example, world):
    """Return the objects ``example`` is checked on."""
    return outbox() if example["object"] == "email" else world.of(example["object"])


def world_counts():
    """Return how many rows each table of the world holds (a refused request changes none)."""
    models = (*WORKSPACE_MODELS, *MESSAGE_MODELS, ActivityEvent, EmailMessage, OneTimeLink)
    return [model.select().count() for model in models]


def object_world(app, people):
    """Build the world, grant the Email tab to Teammates (a related scope); return the world,
    the viewers ``{email: User}`` and each viewer's tabs by the reference model."""
    with app.app_context():
        world = build_world(people)
        TabGrant.create(tab="email", role=Role.get(Role.name == "Teammate"))
        viewers = {
            email: User.get(User.email == email) if email else None for email in OBJECT_VIEWERS
        }
        return world, viewers, {email: expected_tabs(user) for email, user in viewers.items()}


def check_object(app, viewer, tabs, world, key, example, thing):
    """Request ``example`` on ``thing`` as ``viewer``; return the mismatches found."""
    expected = expected_object_answer(example, viewer, thing, world, tabs)
    if expected is None:
        return []
    method = key.split(" ", 1)[0]
    url = example["url"].format(id=thing.id)
    data = {name: value.format(id=thing.id) for name, value in example.get("data", {}).items()}
    user_id = viewer.id if viewer else None
    status, headers, body = request_as(app, user_id, method, url, data, example.get("htmx", False))
    where = f"{viewer.email if viewer else None} {method} {url}"
    actual = answer_of(status, headers)
    found = [f"expected {expected}, got {actual}"] if actual != expected else []
    found += content_mismatches(example, viewer, thing, world, status, body)
    return [f"{where}: {problem}" for problem in found]


def listed(viewer, thing, world):
    """Tell whether the list of ``thing``'s kind shows it to ``viewer`` (messages: received)."""
    if thing.kind == "message":
        return viewer.id in thing.recipients
    return sees(viewer, thing, world)


def list_mismatches(app, viewer, world):
    """Return the objects each list shows ``viewer`` that it should not, or misses."""
    found = []
    for kind, url in LIST_URLS.items():
        status, _, body = request_as(app, viewer.id, "GET", url, None, False)
        if status != 200:
            found.append(f"{viewer.email} GET {url}: {status}")
            continue
        for thing in world.of(kind):
            if (thing.title in body) != listed(viewer, thing, world):
                found.append(
                    f"{viewer.email} GET {url}: {thing.title!r} listed={thing.title in body}"
                )
            if thing.kind == "document" and thing.code in body and thing.code:
                found.append(f"{viewer.email} GET {url}: shows the code of {thing.title!r}")
    return found


def test_every_object_url_answers_per_object_as_the_model_says(app, people):
    world, viewers, tabs = object_world(app, people)
    with app.app_context():
        targets = [
            (key, example, thing)
            for key, examples in OBJECTS.items()
            for example in examples
            for thing in objects_for(example, world)
        ]
        before = world_counts()
    mismatches = []
    for email, viewer in viewers.items():
        mismatches += list_mismatches(app, viewer, world) if viewer else []
        for key, example, thing in targets:
            mismatches += check_object(app, viewer, tabs[email], world, key, example, thing)
    with app.app_context():
        assert world_counts() == before, "a refused request (or refused input) changed something"
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:60])
