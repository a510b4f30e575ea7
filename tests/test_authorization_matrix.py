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

from core.db import database
from core.events import Ref
from core.events import record_activity
from core.people import Role
from core.people import Team
from core.people import TeamMembership
from core.people import User
from plugins.settings.models import TabGrant

DOCS = Path(__file__).parent.parent / "docs"
MATRIX = json.loads((DOCS / "authorization.json").read_text())
# A built-in plugin's rules may live in docs/authorization.<plugin>.json; an installed plugin
# ships its own as authorization.json beside its code.
EXTRA = sorted(DOCS.glob("authorization.*.json"))
for entry_point in importlib.metadata.entry_points(group="activity_stream"):
    package = Path(entry_point.load().__file__).parent
    EXTRA += [package / "authorization.json"] if (package / "authorization.json").exists() else []
for extra in EXTRA:
    MATRIX["routes"].update(json.loads(extra.read_text())["routes"])
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
    "owner@example.com", "admin@example.com", "pm@example.com", "office@example.com",
    "teammate@example.com", "sales@example.com", "hiro@example.com", "ines@example.com",
    "freelancer@example.com", "client@example.com", "prospect@example.com",
)  # fmt: skip


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
        grant.tab for grant in TabGrant.select()
        if grant.role_id == user.role_id or grant.user_id == user.id or grant.team_id in teams
    }  # fmt: skip
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
            with app.app_context():
                session["_user_id"] = User.get_by_id(user_id).get_id()
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
