"""The API section of Settings, through its real routes: a token made for oneself and shown
once, revoked (and refused by the API at once), behind the Settings tab's gate, CSRF-checked,
every refused field named."""

import re
from datetime import UTC
from datetime import date
from datetime import timedelta

import pytest
from flask import Blueprint

from core import hookimpl
from core.db import utcnow
from core.events import ActivityEvent
from core.people import User
from core.tabs import all_tabs
from plugins.api.tokens import ApiToken
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.plugins.api.conftest import bearer

HTMX = {"HX-Request": "true"}
TOKEN = re.compile(r"ast_[A-Za-z0-9_-]{43}")
CREATE = "/stream/settings/api/tokens"


def revoke_url(token_id):
    """Return the URL revoking the token ``token_id``."""
    return f"/stream/settings/api/tokens/{token_id}/revoke"


def post(client, url, htmx=True, csrf=True, **form):
    """POST ``form`` to ``url`` as a browser would (the CSRF token in the form)."""
    if csrf:
        form["csrf_token"] = csrf_token_of(client)
    return client.post(url, data=form, headers=HTMX if htmx else {})


def make(client, htmx=True, **form):
    """Make a token through the form; return the response."""
    form.setdefault("name", "Billing sync")
    form.setdefault("scope", "read")
    return post(client, CREATE, htmx=htmx, **form)


def only_token(app):
    """Return the one stored token row."""
    with app.app_context():
        (row,) = ApiToken.select()
        return row


def verbs(app):
    """Return the verbs recorded on tokens, oldest first, with their actor's id."""
    with app.app_context():
        query = ActivityEvent.select().where(ActivityEvent.object_type == "api_token")
        return [(event.verb, event.actor_id) for event in query.order_by(ActivityEvent.id)]


def test_an_admin_makes_a_token_for_themselves_shown_once_and_it_works(app, client, login):
    admin = login("admin@example.com")
    page = client.get("/stream/settings")
    assert page.status_code == 200 and 'id="api-tokens"' in page.text
    assert 'href="#api">API tokens</a>' in page.text  # the contents lead to the section

    made = make(client, name="  Billing sync  ", scope="events:write", expires_days="30")
    assert made.status_code == 200
    assert made.text.count('id="api-tokens"') == 1  # the section alone, not the page
    (token,) = set(TOKEN.findall(made.text))
    assert "you will not see it again" in made.text and 'data-copy="new-token"' in made.text
    assert 'hx-swap-oob="true"' in made.text  # the status line says it, out of band

    row = only_token(app)
    assert (row.user_id, row.created_by) == (admin.id, admin.id)
    assert (row.name, row.scope) == ("Billing sync", "events:write")
    assert timedelta(days=29, hours=23) < row.expires_at - utcnow() <= timedelta(days=30)
    answer = client.get("/api/v1/", headers=bearer(token))
    assert answer.status_code == 200 and answer.json["person"]["id"] == admin.id

    # Never again: not on the page, not in the session cookie; only its first characters.
    again = client.get("/stream/settings")
    assert token not in again.text and f"{row.shown}…" in again.text
    with client.session_transaction() as session:
        assert token not in repr(dict(session))
    assert verbs(app)[0] == ("api_token.created", admin.id)


def test_without_javascript_the_token_is_shown_on_the_whole_settings_page(app, client, login):
    login("owner@example.com")
    day = (date.today() + timedelta(days=400)).isoformat()
    made = make(client, htmx=False, name="Nightly export", expires_on=day)
    assert made.status_code == 200
    assert "By Role" in made.text and "<html" in made.text  # the whole page, Settings in it
    (token,) = set(TOKEN.findall(made.text))
    assert made.headers["Cache-Control"] == "no-store"  # not kept for the Back button
    with client.session_transaction() as session:
        assert token not in repr(dict(session))  # no flash: a cookie is no place for it
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200
    # "Expires on <day>": the token ends as that day begins in the viewer's zone.
    with app.app_context():
        owner = User.get(User.email == "owner@example.com")
        local = only_token(app).expires_at.replace(tzinfo=UTC).astimezone(owner.zone())
    assert (local.date().isoformat(), local.hour, local.minute) == (day, 0, 0)
    assert client.get(CREATE).status_code == 303  # the URL left in the address bar


def test_revoking_asks_first_then_the_api_refuses_the_token_at_once(app, client, login, token_for):
    owner = login("owner@example.com")
    token = token_for("owner@example.com", name="Deploy")
    row = only_token(app)

    # Without the confirmation (a browser without JavaScript): a page asking, nothing revoked.
    asked = post(client, revoke_url(row.id), htmx=False)
    assert asked.status_code == 200 and "Revoke the token “Deploy”" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200

    done = post(client, revoke_url(row.id), confirmed="yes")
    assert done.status_code == 200 and "is revoked" in done.text
    assert f'data-token-id="{row.id}" data-status="revoked"' in done.text
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 401
    assert only_token(app).revoked_at is not None
    assert verbs(app)[-1] == ("api_token.revoked", owner.id)

    # Again, without JavaScript: back to Settings, saying nothing changed; nothing recorded.
    again = post(client, revoke_url(row.id), htmx=False, confirmed="yes")
    assert again.status_code == 303 and again.headers["Location"].endswith("/stream/settings#api")
    assert "already revoked" in client.get("/stream/settings").text
    assert [verb for verb, _ in verbs(app)].count("api_token.revoked") == 1


def test_an_admin_sees_and_revokes_every_token_the_owners_included(app, client, login, token_for):
    owner_token = token_for("owner@example.com", name="Owner's sync")
    teammate_token = token_for("teammate@example.com", name="Teammate's script")
    login("admin@example.com")
    page = client.get("/stream/settings").text
    assert "Owner&#39;s sync" in page and "Teammate&#39;s script" in page
    assert owner_token not in page and teammate_token not in page
    assert "from the command line" in page  # made by no one signed in
    with app.app_context():
        ids = {row.name: row.id for row in ApiToken.select()}
    for name, token in (("Owner's sync", owner_token), ("Teammate's script", teammate_token)):
        assert post(client, revoke_url(ids[name]), confirmed="yes").status_code == 200
        assert client.get("/api/v1/", headers=bearer(token)).status_code == 401


def test_the_list_says_why_a_token_does_not_work(app, client, login, token_for):
    token_for("teammate@example.com", name="Old", expires_at=utcnow() - timedelta(days=1))
    token_for("pm@example.com", name="Gone")
    with app.app_context():
        User.update(active=False).where(User.email == "pm@example.com").execute()
    login("admin@example.com")
    page = client.get("/stream/settings").text
    rows = re.findall(r'data-status="(\w+)">.*?class="token-name">([^<]+)<', page, re.DOTALL)
    assert {name: status for status, name in rows} == {"Old": "expired", "Gone": "inactive"}
    assert "Person may not sign in" in page


# --- who may reach the section's routes ----------------------------------------------------


def section_routes(app):
    """Return ``(method, url)`` for every route of the section's blueprint, read from the app's
    URL map (ids as 1), so a route added later is checked too."""
    found = [
        (method, re.sub(r"<[^>]+>", "1", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api_tokens.")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    assert {("GET", CREATE), ("POST", CREATE), ("POST", revoke_url(1))} <= set(found)
    return found


@pytest.mark.parametrize("email", ["teammate@example.com", "pm@example.com"])
def test_a_staff_member_without_settings_gets_403_on_every_route(
    app, client, people, email, token_for
):
    token = token_for("owner@example.com")
    with app.app_context():  # every other tab is theirs: only Settings is missing
        for tab in all_tabs():
            if tab.configurable:
                TabGrant.create(tab=tab.name, user=people[email].id)
    assert sign_in(client, email).status_code == 302
    assert client.get("/stream/activity").status_code == 200
    for method, url in section_routes(app):
        for headers in ({}, HTMX):
            form = {"csrf_token": csrf_token_of(client), "name": "x", "scope": "read"}
            form["confirmed"] = "yes"
            answer = client.open(url, method=method, data=form, headers=headers)
            assert answer.status_code == 403, (method, url, headers)
    assert only_token(app).revoked_at is None and len(verbs(app)) == 1
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200


def test_a_contact_gets_403_and_a_signed_out_person_is_sent_to_sign_in(app, client, people):
    for method, url in section_routes(app):
        form = {"csrf_token": csrf_token_of(client), "name": "x", "scope": "read"}
        plain = client.open(url, method=method, data=form)
        assert plain.status_code == 302 and "/login?next=" in plain.headers["Location"]
        htmx = client.open(url, method=method, data=form, headers=HTMX)
        assert htmx.status_code == 401 and "/login?next=" in htmx.headers["HX-Redirect"]
    assert sign_in(client, "client@example.com").status_code == 302
    for method, url in section_routes(app):
        form = {"csrf_token": csrf_token_of(client), "name": "x", "scope": "read"}
        assert client.open(url, method=method, data=form).status_code == 403
    with app.app_context():
        assert ApiToken.select().count() == 0


def test_the_section_is_for_the_owner_and_admins_only(app, people):
    from plugins.api.settings_section import sections

    with app.test_request_context():
        assert sections(people["teammate@example.com"]) == []
        assert sections(people["client@example.com"]) == []
        assert "API tokens" in sections(people["admin@example.com"])[0]


class OtherSettingsRoutes:
    """A plugin mounting a blueprint under /stream/settings that nobody maps to a tab."""

    bp = Blueprint("other_settings", __name__)
    bp.add_url_rule("/ping", "ping", lambda: "pong")

    @hookimpl
    def startup(self, app):
        """Mount the blueprint where the Settings tab's URLs are."""
        app.register_blueprint(self.bp, url_prefix="/stream/settings/other")


def test_a_blueprint_under_stream_that_no_tab_claims_is_a_404(make_app, people):
    app = make_app(plugins=[OtherSettingsRoutes()])
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 302
    assert client.get("/stream/settings/other/ping").status_code == 404
    assert client.get(CREATE).status_code == 303  # the mapped one is reached


# --- CSRF and bad input --------------------------------------------------------------------


def test_a_post_without_the_csrf_token_changes_nothing(app, client, login, token_for):
    token = token_for("admin@example.com")
    row = only_token(app)
    login("admin@example.com")
    assert make(client, csrf=False).status_code == 400
    forged = post(client, revoke_url(row.id), csrf=False, confirmed="yes")
    assert forged.status_code == 400
    wrong = client.post(
        revoke_url(row.id), data={"csrf_token": "x" * 43, "confirmed": "yes"}, headers=HTMX
    )
    assert wrong.status_code == 400
    with app.app_context():
        assert ApiToken.select().count() == 1
    assert client.get("/api/v1/", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "form, field",
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": "two\nlines"}, "name"),
        ({"scope": ""}, "scope"),
        ({"scope": "admin"}, "scope"),
        ({"scope": "READ"}, "scope"),
        ({"expires_days": "0"}, "expires_days"),
        ({"expires_days": "-3"}, "expires_days"),
        ({"expires_days": "1.5"}, "expires_days"),
        ({"expires_days": "3651"}, "expires_days"),
        ({"expires_days": "9" * 5000}, "expires_days"),
        ({"expires_days": "٣"}, "expires_days"),
        ({"expires_on": "tomorrow"}, "expires_on"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"expires_on": "2026-02-30"}, "expires_on"),
        ({"expires_on": "9999-12-31"}, "expires_on"),
        ({"expires_days": "3", "expires_on": "2030-01-01"}, "expires_on"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(app, client, login, form, field):
    login("admin@example.com")
    for htmx in (True, False):
        answer = make(client, htmx=htmx, **form)
        assert answer.status_code == 400, answer.text[:300]
        assert f'<li data-field="{field}">{field}: ' in answer.text
        assert ('id="api-tokens"' in answer.text) and (("By Role" in answer.text) != htmx)
    with app.app_context():
        assert ApiToken.select().count() == 0
    assert verbs(app) == []


def test_a_refused_form_keeps_what_was_typed(client, login):
    login("admin@example.com")
    answer = make(client, name="Kept <name>", scope="bogus", expires_days="12")
    assert 'value="Kept &lt;name&gt;"' in answer.text and 'value="12"' in answer.text
    assert 'aria-invalid="true"' not in answer.text.split('id="token-name"')[1].split(">")[0]


def test_revoking_a_token_that_does_not_exist_is_a_404(client, login):
    login("admin@example.com")
    assert post(client, revoke_url(424242), confirmed="yes").status_code == 404
    assert post(client, "/stream/settings/api/tokens/abc/revoke").status_code == 404
    assert post(client, revoke_url(10**20)).status_code == 404


class PlainTextSection:
    """A plugin answering ``settings_sections`` with a plain string, not ``Markup``."""

    @hookimpl
    def settings_sections(self, viewer):
        """Return text that would be markup if it were trusted."""
        return ["<script>alert(1)</script>"]


def test_settings_shows_a_section_that_is_not_markup_as_text(make_app, people):
    app = make_app(plugins=[PlainTextSection()])
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 302
    page = client.get("/stream/settings").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert 'id="api-tokens"' in page  # the API plugin's section is there beside it
