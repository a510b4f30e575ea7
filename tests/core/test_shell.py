"""The stream shell with a tab plugin: full page or panel, gated fragments, headers, error pages."""

import re

import pytest
from flask import Blueprint

from core import hookimpl
from core.tabs import Tab
from plugins.settings.models import TabGrant
from tests.conftest import csrf_token_of

HX = {"HX-Request": "true"}


class NotesPlugin:
    """A throwaway tab plugin: a panel, a ``/rows`` fragment, and a visibility answer."""

    def __init__(self):
        self.answer = True  # what tab_visible says about the Notes tab
        self.blueprint = Blueprint("notes", __name__)
        self.blueprint.add_url_rule("/rows", "rows", lambda: '<li data-row-id="7">a note</li>')
        # Pages under /stream that no tab owns: one declared part of Notes, one not.
        self.extra = Blueprint("notes_extra", __name__, url_prefix="/stream/notes/extra")
        self.extra.add_url_rule("/", "page", lambda: "notes extra")
        self.stray = Blueprint("stray", __name__, url_prefix="/stream/stray")
        self.stray.add_url_rule("/", "page", lambda: "stray")

    @hookimpl
    def register_blueprints(self, app):
        return [(self.extra, {"part_of_tab": "notes"}), self.stray]

    @hookimpl
    def register_tabs(self):
        panel = lambda viewer: '<p class="notes-panel">Notes panel</p>'  # noqa: E731
        return [Tab(name="notes", label="Notes", order=50, panel=panel, blueprint=self.blueprint)]

    @hookimpl
    def tab_visible(self, viewer, tab):
        return self.answer if tab.name == "notes" else None


@pytest.fixture
def notes():
    return NotesPlugin()


@pytest.fixture
def app(make_app, notes):
    """Return the app with the Notes tab plugin registered."""
    return make_app(plugins=[notes])


def test_the_tab_is_in_the_tab_bar_and_first_when_it_comes_first(client, login):
    login("admin@example.com")
    assert client.get("/stream").headers["Location"] == "/stream/notes"
    page = client.get("/stream/notes").text
    tabs = re.findall(r'role="tab" id="tab-([a-z]+)"', page)
    assert tabs == ["notes", "settings"]


def test_a_direct_visit_renders_the_whole_page(client, login):
    login("admin@example.com")
    response = client.get("/stream/notes")
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'role="tablist"' in response.text
    assert 'class="topbar"' in response.text
    assert '<p class="notes-panel">Notes panel</p>' in response.text
    assert 'aria-selected="true"' in response.text.split('id="tab-notes"')[1].split(">")[0]


def test_an_htmx_request_renders_the_panel_and_the_tab_bar_out_of_band(client, login):
    login("admin@example.com")
    response = client.get("/stream/notes", headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'class="topbar"' not in response.text
    assert '<p class="notes-panel">Notes panel</p>' in response.text
    assert re.search(r'<nav id="stream-tabs"[^>]*hx-swap-oob="true"', response.text)


def test_the_tab_blueprint_is_served_under_the_tab(client, login):
    login("admin@example.com")
    response = client.get("/stream/notes/rows", headers=HX)
    assert response.status_code == 200
    assert response.text == '<li data-row-id="7">a note</li>'


@pytest.mark.parametrize("url", ["/stream/notes", "/stream/notes/rows"])
def test_panel_and_fragment_are_gated_alike(client, login, notes, url):
    login("teammate@example.com")
    assert client.get(url).status_code == 200  # the plugin grants it
    notes.answer = None
    assert client.get(url, headers=HX).status_code == 403
    notes.answer = True
    client.post("/logout", headers={"X-CSRF-Token": csrf_token_of(client)})
    login("client@example.com")
    assert client.get(url, headers=HX).status_code == 403
    client.post("/logout", headers={"X-CSRF-Token": csrf_token_of(client)})
    assert client.get(url).status_code == 302


def test_a_blueprint_declared_part_of_a_tab_is_gated_as_that_tab(client, login, notes):
    login("teammate@example.com")
    assert client.get("/stream/notes/extra/").text == "notes extra"
    notes.answer = None  # the Notes tab is no longer the teammate's: nor is its part
    assert client.get("/stream/notes/extra/").status_code == 403


def test_a_blueprint_under_the_stream_that_no_tab_owns_is_a_404(client, login):
    login("admin@example.com")
    assert client.get("/stream/stray/").status_code == 404


def test_a_false_answer_vetoes_a_settings_grant(app, client, login, notes):
    teammate = login("teammate@example.com")
    with app.app_context():
        TabGrant.create(tab="notes", user=teammate)
    notes.answer = None
    assert client.get("/stream/notes").status_code == 200
    notes.answer = False
    assert client.get("/stream/notes").status_code == 403


def test_stream_responses_vary_on_htmx_and_are_not_stored(client, login):
    login("admin@example.com")
    for response in (
        client.get("/stream/notes"),
        client.get("/stream/notes", headers=HX),
        client.get("/stream/notes/rows"),
        client.get("/stream/nope"),
    ):
        assert "HX-Request" in response.vary
        assert response.headers["Cache-Control"] == "no-store"


def test_the_content_security_policy_forbids_inline_and_eval(client, login):
    login("admin@example.com")
    response = client.get("/stream/notes")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert policy["object-src"] == "'none'"
    # Nothing on the page relies on what the policy forbids.
    assert not re.search(r"<script(?![^>]*\bsrc=)", response.text)
    assert not re.search(r"\son[a-z]+=", response.text)


def test_error_pages_are_rendered_in_the_shell(client, login):
    login("teammate@example.com")
    for url, code, title in (
        ("/stream/settings", 403, "You do not have access to this page"),
        ("/stream/nope", 404, "Page not found"),
        ("/no-such-page", 404, "Page not found"),
    ):
        response = client.get(url)
        assert response.status_code == code, url
        assert 'class="topbar"' in response.text
        assert f"<h1>{title}</h1>" in response.text


def test_a_forged_hx_target_does_not_change_the_status(client, login):
    login("teammate@example.com")
    for headers in (
        {"HX-Target": "panel"},
        {**HX, "HX-Target": "panel"},
        {**HX, "HX-Target": '"><script>alert(1)</script>'},
    ):
        response = client.get("/stream/settings", headers=headers)
        assert response.status_code == 403, headers
        assert "<script>alert(1)" not in response.text


def test_the_flyout_marks_the_current_page(client, login):
    login("owner@example.com")
    stream = client.get("/stream/notes").text
    assert '<a href="/stream" aria-current="page">Activity Stream</a>' in stream
    profile = client.get("/profile").text
    assert '<a href="/profile" aria-current="page">Profile</a>' in profile
    assert '<a href="/stream">Activity Stream</a>' in profile
