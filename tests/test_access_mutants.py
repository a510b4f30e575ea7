"""Access rules that only a changed rule shows: each test here fails when the rule it names is
weakened (the gate checking another tab than the one a URL belongs to, a lock forgotten
too soon, ...)."""

from datetime import timedelta

from core import throttle
from core.db import utcnow
from core.throttle import SignInThrottle
from plugins.settings.models import TabGrant


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
