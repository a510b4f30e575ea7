"""Access rules that only a changed rule shows: each test here fails when the rule it names is
weakened (the gate checking another tab than the one a URL belongs to, ...)."""

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
