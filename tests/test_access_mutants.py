"""Access rules that only a changed rule shows: each test here fails when the rule it names is
weakened (the gate checking another tab than the one a URL belongs to, a lock forgotten
too soon, ...)."""

import re
from datetime import timedelta

import pytest

from core import hookimpl
from core.auth import throttle
from core.auth.throttle import SignInThrottle
from core.db import database
from core.db import utcnow
from core.demo import seed_people
from core.people import Role
from core.people import Team
from core.tabs import Tab
from core.testing import rows_seen_by
from plugins.email.models import EmailMessage
from plugins.settings.models import RoleScope
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.plugins.test_logins import lock

SAVED_SCOPE = re.compile(r'data-scope="(\d+:[a-z0-9_-]+)" data-saved="(\w+)"')
GRANT_BOX = re.compile(r'value="1"( checked)?\s*data-grant="([a-z]+:\d+:[a-z0-9_-]+)"')
SCOPE_DISABLED = re.compile(r'data-scope="(\d+:[a-z0-9_-]+)" data-saved="\w+"\s*(disabled)?')


def signed_in(app, email):
    """Return a test client signed in as ``email``."""
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def grant_tab(app, tab, user):
    """Grant ``tab`` to ``user`` alone."""
    with app.app_context():
        TabGrant.create(tab=tab, user=user)


def test_the_gate_checks_the_tab_a_blueprint_url_belongs_to(app, client, login):
    # Activity (the first tab of the bar, with routes of its own) is not granted; Logins is.
    teammate = login("teammate@example.com")
    grant_tab(app, "logins", teammate)
    assert client.get("/stream/logins/rows").status_code == 200
    assert client.get("/stream/activity/rows").status_code == 403
    assert client.get("/stream/email/rows").status_code == 403


def test_a_grant_of_the_first_tab_opens_no_other_tab_routes(app, client, login):
    teammate = login("teammate@example.com")
    grant_tab(app, "activity", teammate)
    assert client.get("/stream/activity/rows").status_code == 200
    assert client.get("/stream/logins/rows").status_code == 403
    assert client.get("/stream/settings/people").status_code == 403


def test_idle_throttle_rows_are_kept_while_their_lock_can_still_matter(app):
    # A row is pruned only once idle for longer than the window, the longest lock and the
    # tier reset together: sooner, a locked account would start over at the first tier.
    with app.app_context():
        settings = throttle._settings()
        longest = settings["window"] + max(settings["tiers"]) + settings["reset"]
        now = utcnow()
        for key, idle in (("account:kept", longest), ("account:gone", longest + 1)):
            SignInThrottle.create(key=key, tier=2, updated_at=now - timedelta(seconds=idle))
        throttle._prune(now, settings)
        assert [row.key for row in SignInThrottle.select()] == ["account:kept"]


class LateTabPlugin:
    """A tab named to sort first by name, ordered after every built-in tab."""

    @hookimpl
    def register_tabs(self):
        panel = lambda viewer: "<p>archive</p>"  # noqa: E731
        return [Tab(name="aaa-archive", label="Archive", order=500, panel=panel)]


def test_tabs_are_ordered_by_their_order_not_their_name(make_app):
    # The owner sees every tab and lands on the first: the order decides it, not the name.
    app = make_app(plugins=[LateTabPlugin()])
    with app.app_context(), database.atomic():
        seed_people()
    client = signed_in(app, "owner@example.com")
    assert client.get("/stream").headers["Location"] == "/stream/activity"
    bar = client.get("/stream/activity").text
    assert bar.index("/stream/logins") < bar.index("/stream/aaa-archive")


def message(recipient, subject):
    """Queue a notification to ``recipient`` (no sender); return its id."""
    return EmailMessage.create(
        kind="notice",
        recipient_id=recipient.id,
        recipient_name=recipient.name,
        recipient_email=recipient.email,
        subject=subject,
        text_body=subject,
        html_body=f"<p>{subject}</p>",
        message_id=f"<{subject}@example.com>",
    ).id


def test_each_role_sees_its_own_stored_scope_else_its_kinds_default(app, people):
    # Stored: Admin sees only related rows on Activity, Teammate every row on Email. Admin
    # keeps its kind's default ("all") on Email; Teammate its default ("related") on Logins.
    with app.app_context():
        admin, teammate = (Role.get(Role.name == name) for name in ("Admin", "Teammate"))
        RoleScope.create(role=admin, tab="activity", scope="related")
        RoleScope.create(role=teammate, tab="email", scope="all")
        TabGrant.create(tab="email", role=teammate)
        TabGrant.create(tab="logins", role=teammate)
        to_client = message(people["client@example.com"], "Price list")
    # Nobody at Leadership or Delivery relates to the client: only an "all" scope shows it.
    assert to_client in rows_seen_by(app, "admin@example.com", "email")
    assert to_client in rows_seen_by(app, "teammate@example.com", "email")
    owner = signed_in(app, "owner@example.com")
    saved = dict(SAVED_SCOPE.findall(owner.get("/stream/settings").text))
    assert saved[f"{admin.id}:activity"] == "related"
    assert saved[f"{admin.id}:email"] == "all"
    assert saved[f"{teammate.id}:email"] == "all"
    assert saved[f"{teammate.id}:logins"] == "related"


def test_a_grant_in_person_or_by_team_makes_only_the_members_role_scopes_settable(app, people):
    # A role's scope control is enabled once a member holds the tab, in person or through a
    # team; other roles stay disabled.
    with app.app_context():
        TabGrant.create(tab="logins", user=people["teammate@example.com"])
        TabGrant.create(tab="email", team=Team.get(Team.name == "Sales"))
        teammate, sales, office = (
            Role.get(Role.name == name) for name in ("Teammate", "Salesperson", "Office Manager")
        )
    owner = signed_in(app, "owner@example.com")
    disabled = dict(SCOPE_DISABLED.findall(owner.get("/stream/settings").text))
    assert disabled[f"{teammate.id}:logins"] == ""
    assert disabled[f"{sales.id}:logins"] == "disabled"
    assert disabled[f"{sales.id}:email"] == ""
    assert disabled[f"{office.id}:email"] == "disabled"  # nobody at Sales is an Office Manager
    # The grants' own checkboxes are ticked, and only theirs.
    with app.app_context():
        dana, sales_team = people["teammate@example.com"].id, Team.get(Team.name == "Sales").id
    page = owner.get("/stream/settings").text
    ticked = {grant for checked, grant in GRANT_BOX.findall(page) if checked}
    assert {f"user:{dana}:logins", f"team:{sales_team}:email"} <= ticked
    assert f"role:{office.id}:email" not in ticked and f"user:{dana}:email" not in ticked


class NamedTabPlugin:
    """A plugin registering one tab named ``name``."""

    def __init__(self, name):
        self.name = name

    @hookimpl
    def register_tabs(self):
        return [Tab(name=self.name, label="Extra", order=50, panel=lambda viewer: "")]


@pytest.mark.parametrize(
    "name, message",
    [
        ("Bad Name", "tab name 'Bad Name' must match"),
        ("activity", "two plugins register a tab named 'activity'"),
    ],
)
def test_a_bad_or_taken_tab_name_stops_startup_naming_the_tab(make_app, name, message):
    with pytest.raises(RuntimeError, match=message):
        make_app(plugins=[NamedTabPlugin(name)])


def test_an_admin_unlock_starts_the_lock_tiers_over(app, people):
    # Unlocked, the account's next lock is again the shortest, not the next tier's.
    lock_id = lock(app, app.test_client())
    with app.app_context():
        assert SignInThrottle.get(SignInThrottle.key == "account:pm@example.com").tier == 1
    admin = signed_in(app, "admin@example.com")
    unlocked = admin.post(
        f"/stream/logins/{lock_id}/unlock",
        data={"csrf_token": csrf_token_of(admin)},
        headers={"HX-Request": "true"},
    )
    assert unlocked.status_code == 200
    with app.app_context():
        row = SignInThrottle.get(SignInThrottle.key == "account:pm@example.com")
        assert (row.tier, row.locked_until, row.failures) == (0, None, "")
