"""The authorization matrix: every URL rule x method, every role, several grant scenarios.

``docs/authorization.json`` (with ``docs/authorization.*.json`` and each installed plugin's
``authorization.json``) names a policy for every rule; this test derives the expected outcome
from a small reference model of the product rules (docs/design.md, section 2), independent of
the app's code, and compares it with what the app answers: 0 mismatches, no rule left out.
The HTTP API (``/api/v1``, docs/authorization.api.json) is asked with session cookies, which
give nothing there, and with tokens of every scope, fresh, refused and of people who lapsed.
"""

import importlib.metadata
import json
import weakref
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from core.auth.clients import Client
from core.auth.sessions import UserSession
from core.auth.sessions import start_session
from core.db import database
from core.db import utcnow
from core.events import ActivityEvent
from core.events import Ref
from core.events import record_activity
from core.events.reads import ACCESS_VERBS
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from core.people import create_user
from plugins.api.tokens import SCOPES
from plugins.api.tokens import create_token
from plugins.api.tokens import revoke_token
from plugins.email.models import EmailMessage
from plugins.people import accounts
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
POLICY_TEXTS = dict(MATRIX["policies"])
for extra in EXTRA:
    MATRIX["routes"].update(json.loads(extra.read_text()).get("routes", {}))
    POLICY_TEXTS.update(json.loads(extra.read_text()).get("policies", {}))
# Object-level rules: every URL of one object, checked per object (docs/authorization.objects.json).
OBJECT_MATRIX = json.loads((DOCS / "authorization.objects.json").read_text())
OBJECTS = OBJECT_MATRIX["objects"]
# The URL prefixes whose objects the world of tests/object_world.py holds: each of their rules
# naming an object must be checked per object.
OBJECT_PREFIXES = ("/workspace/", "/stream/email/")
# Every tab named by a policy (a page's or the API's), but Settings, is granted by role,
# person and team.
CONFIGURABLE_TABS = {
    example["policy"].split(":", 1)[1]
    for examples in MATRIX["routes"].values()
    for example in examples
    if example["policy"].startswith(("tab:", "api_read_tab:"))
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


# --- the HTTP API: a token or nothing --------------------------------------------------------

API_PREFIX = "/api/v1"
API_POLICIES = ("api", "api_write", "api_read_tab:")
# The scopes the reference model knows; a scope the product adds fails the test below until
# the model says what its tokens may do.
TOKEN_SCOPES = ("read", "events:write")
API_ANSWERS = (200, 201, 204)
PROBLEM = "application/problem+json"


def is_api_rule(key):
    """Tell whether ``"METHOD rule"`` is a rule of the API."""
    path = key.split(" ", 1)[1]
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def may_sign_in(user):
    """Reference model: whether ``user`` may sign in today (active, their role can sign in)."""
    return user is not None and user.active and Role.get_by_id(user.role_id).can_sign_in


def expected_api_outcome(policy, user, scope, usable=True):
    """Return ``allowed``, ``unauthenticated`` or ``forbidden`` for a request to an API rule of
    ``policy`` with a token of ``user`` and ``scope`` (``scope`` None: no token, whatever
    session cookie the request holds; ``usable`` False: a revoked or expired token)."""
    if policy == "public":
        return "allowed"
    if scope is None or not usable or not may_sign_in(user):
        return "unauthenticated"
    if policy == "api":
        return "allowed"
    if policy == "api_write":
        staff = Role.get_by_id(user.role_id).kind in STAFF_KINDS
        return "allowed" if scope == "events:write" and staff else "forbidden"
    if policy.startswith("api_read_tab:"):
        visible = policy.split(":", 1)[1] in expected_tabs(user)
        return "allowed" if scope == "read" and visible else "forbidden"
    raise AssertionError(f"the reference model has no API policy {policy!r}")


def actual_api_outcome(status, headers, answers):
    """Classify an API answer the way ``expected_api_outcome`` speaks: a refusal counts only
    as ``application/problem+json``; an allowed answer is one of the example's ``answers``."""
    if status >= 500:
        return f"error {status}"
    problem = headers.get("Content-Type", "").startswith(PROBLEM)
    if status == 401 and problem:
        return "unauthenticated"
    if status == 403 and problem:
        return "forbidden"
    if status in answers:
        return "allowed"
    return f"unexpected {status} {headers.get('Content-Type', '')}"


@dataclass(frozen=True)
class Holder:
    """A token the API is asked with: whose, its scope, the token, whether it is usable."""

    label: str
    user_id: int
    scope: str
    token: str
    usable: bool = True


# Admins given a token of each scope, then changed: none of them may act as an Admin again.
LAPSES = {
    "deactivated@example.com": lambda owner, user: accounts.set_active(owner, user, False),
    # A former Staff Member whose new role may not sign in: refused.
    "former-lead@example.com": lambda owner, user: accounts.update_person(
        owner, user, user.name, user.email, "Lead", user.time_zone
    ),
    # A former Staff Member who is now a Client: the token acts as the Client of today.
    "former-client@example.com": lambda owner, user: accounts.update_person(
        owner, user, user.name, user.email, "Client", user.time_zone
    ),
}


def token_holders(people):
    """Make (in an app context) the tokens the API is asked with: one of each scope for each
    signed-in viewer; the owner's revoked, expired and expiring-tomorrow ones; and those of
    the ``LAPSES`` Admins, made before their change. Once per scenario, not per request."""
    owner = people["owner@example.com"]
    holders = []
    with database.atomic():
        for email in filter(None, VIEWERS):
            for scope in TOKEN_SCOPES:
                _, token = create_token(people[email], "matrix", scope, by=owner)
                holders.append(Holder(email, people[email].id, scope, token))
        for scope in TOKEN_SCOPES:
            row, token = create_token(owner, "revoked", scope, by=owner)
            revoke_token(row, by=owner)
            holders.append(Holder("owner, revoked", owner.id, scope, token, usable=False))
            for label, days, usable in (("expired", -1, False), ("expiring tomorrow", 1, True)):
                expires_at = utcnow() + timedelta(days=days)
                _, token = create_token(owner, label, scope, by=owner, expires_at=expires_at)
                holders.append(Holder(f"owner, {label}", owner.id, scope, token, usable))
        for email, change in LAPSES.items():
            person = create_user(email.split("@")[0], email, "Admin")
            for scope in TOKEN_SCOPES:
                _, token = create_token(person, "matrix", scope, by=owner)
                holders.append(Holder(email, person.id, scope, token))
            change(owner, person)
    return holders


def api_examples():
    """Return ``(key, example)`` for every example of an API rule."""
    return [
        (key, example)
        for key, examples in MATRIX["routes"].items()
        if is_api_rule(key)
        for example in examples
    ]


def test_the_model_knows_every_token_scope():
    assert sorted(SCOPES) == sorted(TOKEN_SCOPES)


def test_api_rules_and_only_they_name_api_policies():
    wrong = [
        f"{key}: {example['policy']}"
        for key, examples in MATRIX["routes"].items()
        for example in examples
        if is_api_rule(key) != example["policy"].startswith(API_POLICIES)
        and example["policy"] != "public"
    ]
    assert wrong == []


def test_every_policy_is_described():
    # "tab:activity" is described as "tab:<name>".
    undescribed = {
        example["policy"]
        for examples in MATRIX["routes"].values()
        for example in examples
        if example["policy"] not in POLICY_TEXTS
        and example["policy"].split(":", 1)[0] + ":<name>" not in POLICY_TEXTS
    }
    assert undescribed == set()


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
    assert missing == [], f"rules with no entry in docs/authorization*.json: {missing}"


def test_the_matrix_names_no_rule_that_does_not_exist(app):
    assert sorted(set(MATRIX["routes"]) - rule_keys(app)) == []


class SessionsAhead:
    """Sessions opened ahead for ``request_as``, a batch per user in one transaction (one
    commit, not one per request): each request still gets a session of its own that no
    request used before, of the user's current session generation.

    A request other than a GET may end sessions or move a generation on (signing out
    everywhere does both): after one, the sessions opened ahead are checked, and all are
    dropped unless every one is still open and current, so none is handed out dead.
    """

    BATCH = 40

    def __init__(self):
        self.ahead = {}  # user id: [(session id, cookie identity "<id>:<generation>:<token>")]

    def identity(self, app, user_id):
        """Return the cookie identity of a session of ``user_id`` opened for one request."""
        if not self.ahead.get(user_id):
            self.ahead[user_id] = self._open(app, user_id)
        return self.ahead[user_id].pop()[1]

    def _open(self, app, user_id):
        opened = []
        with app.app_context(), database.atomic():
            user = User.get_by_id(user_id)
            for _ in range(self.BATCH):
                row = start_session(user, Client())  # signed in as a browser would be
                opened.append((row.id, user.get_id()))
        return opened

    def check(self, app):
        """Drop every session opened ahead unless all are still open and current."""
        ids = [session_id for opened in self.ahead.values() for session_id, _ in opened]
        if not ids:
            return
        with app.app_context():
            live = (
                UserSession.select()
                .join(User, on=(UserSession.user_id == User.id))
                .where(
                    UserSession.id.in_(ids),
                    UserSession.ended_at.is_null(),
                    UserSession.generation == User.session_generation,
                )
                .count()
            )
        if live != len(ids):
            self.ahead.clear()


_SESSIONS_AHEAD = weakref.WeakKeyDictionary()  # app: its SessionsAhead, gone with the app


def request_as(app, user_id, method, url, data, forged, token=None, body=None):
    """Make one request as ``user_id`` (None: signed out), each in a fresh session, with
    ``token`` as ``Authorization: Bearer`` and ``body`` as JSON (instead of the form ``data``)
    when given.

    Requests run outside any app context, as in production, so nothing cached on ``g`` leaks
    from one request to the next. Returns ``(status, headers, body)``.
    """
    sessions = _SESSIONS_AHEAD.setdefault(app, SessionsAhead())
    client = app.test_client()
    session = {"csrf_token": "matrix-token"}  # as a browser that loaded a form would hold
    if user_id is not None:
        session.update({"_user_id": sessions.identity(app, user_id), "_fresh": True})
    # The signed cookie Flask's session interface would set, written straight into the jar.
    cookie = app.session_interface.get_signing_serializer(app).dumps(session)
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie, httponly=True)
    headers = {"X-CSRF-Token": "matrix-token"}
    if forged:
        headers.update({"HX-Request": "true", "HX-Target": "panel", "HX-Boosted": "true"})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    payload = {"json": body} if body is not None else {"data": data or {}}
    response = client.open(url, method=method, headers=headers, **payload)
    result = (response.status_code, response.headers, response.get_data(as_text=True))
    response.close()
    if method != "GET":
        sessions.check(app)
    return result


def expected_grid(app, holders):
    """Return the reference model's outcomes under the stored grants: ``{email: {policy:
    outcome}}`` with each viewer's session cookie (a page's policies, then the API's, where a
    cookie gives nothing), and ``{holder: {policy: outcome}}`` with each token."""
    pages = {
        example["policy"]
        for key, examples in MATRIX["routes"].items()
        if not is_api_rule(key)
        for example in examples
    }
    api = {example["policy"] for _, example in api_examples()}
    with app.app_context():
        by_cookie, by_token = {}, {}
        for email in VIEWERS:
            user = User.get(User.email == email) if email else None
            by_cookie[email] = {
                "pages": {policy: expected_outcome(policy, user) for policy in pages},
                "api": {policy: expected_api_outcome(policy, user, None) for policy in api},
            }
        for holder in holders:
            user = User.get_by_id(holder.user_id)
            by_token[holder] = {
                policy: expected_api_outcome(policy, user, holder.scope, holder.usable)
                for policy in api
            }
        return by_cookie, by_token


def outcome_of(key, example, response):
    """Classify ``response`` (``(status, headers, body)``) to ``example`` of rule ``key``."""
    status, headers, body = response
    if is_api_rule(key):
        return actual_api_outcome(status, headers, example.get("answers", API_ANSWERS))
    answers = example.get("answers", ALLOWED_ANSWERS)
    return actual_outcome(example["policy"], status, headers, body, answers)


def ask(app, key, example, user_id=None, forged=False, token=None):
    """Send ``example`` of rule ``key``; return ``(outcome, status)``."""
    method, url = key.split(" ", 1)[0], example["url"]
    data, body = example.get("data"), example.get("json")
    response = request_as(app, user_id, method, url, data, forged, token, body)
    return outcome_of(key, example, response), response[0]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.usefixtures("no_refusal_wait")  # the matrix's sign-ins are refused, not timed
def test_every_rule_answers_as_the_matrix_says(app, people, scenario):
    with app.app_context():
        with database.atomic():
            SCENARIOS[scenario]()
        record_activity(people["owner@example.com"], "task.created", Ref("task", 1, "Matrix"))
        holders = token_holders(people)
    by_cookie, by_token = expected_grid(app, holders)
    mismatches = []

    def compare(who, key, example, expected, answer):
        actual, status = answer
        if actual != expected:
            mismatches.append(
                f"{scenario} {who} {key.split()[0]} {example['url']}: "
                f"expected {expected}, got {actual} ({status})"
            )

    # Every rule with each viewer's session cookie (the API's too: a cookie gives nothing).
    for email in VIEWERS:
        user_id = people[email].id if email else None
        for forged in (False, True):
            for key, examples in MATRIX["routes"].items():
                for example in examples:
                    kind = "api" if is_api_rule(key) else "pages"
                    expected = by_cookie[email][kind][example["policy"]]
                    answer = ask(app, key, example, user_id, forged)
                    compare(f"{email} forged={forged}", key, example, expected, answer)
    # Every API rule with each token, no cookie.
    for holder in holders:
        for key, example in api_examples():
            expected = by_token[holder][example["policy"]]
            answer = ask(app, key, example, token=holder.token)
            compare(f"{holder.label} {holder.scope} token", key, example, expected, answer)
    # A token opens no page: a signed-out visitor holding the owner's is still signed out.
    token = next(h.token for h in holders if h.label == "owner@example.com")
    for key, examples in MATRIX["routes"].items():
        for example in [] if is_api_rule(key) else examples:
            answer = ask(app, key, example, token=token)
            expected = by_cookie[None]["pages"][example["policy"]]
            compare("signed out with a token", key, example, expected, answer)
    assert mismatches == [], f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])


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
    models = (*WORKSPACE_MODELS, *MESSAGE_MODELS, EmailMessage, OneTimeLink)
    # A message or a shared document opened is recorded (reads): count every other event.
    reads = (*ACCESS_VERBS, "document.viewed")
    events = ActivityEvent.select().where(ActivityEvent.verb.not_in(reads)).count()
    return [model.select().count() for model in models] + [events]


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
