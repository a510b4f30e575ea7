"""The example tab package (``examples/invoices``), installed by its entry point like any
third-party plugin, becomes a tab like the built-in ones, and leaves no trace when left out.

``.ci/run`` installs it (``pip install ./examples/invoices``); without it these tests are
skipped, or fail when ``ACTIVITY_STREAM_REQUIRE_SERVICES=1``.
"""

import importlib.metadata

import pytest

from core.testing import rows_seen_by
from core.testing import sign_in
from core.testing import skip_or_fail

INSTALLED = "invoices" in {e.name for e in importlib.metadata.entry_points(group="activity_stream")}


@pytest.fixture(autouse=True)
def example_installed():
    """Skip (or fail, when services are required) without the example package."""
    if not INSTALLED:
        skip_or_fail("the example plugin is not installed (pip install ./examples/invoices)")


def grant(client, kind, target_id, granted=True):
    """Grant (or revoke) the Invoices tab through the Settings tab, as an admin would."""
    from core.testing import csrf_token_of

    data = {"tab": "invoices", "kind": kind, "id": target_id, "granted": "1" if granted else ""}
    response = client.post(
        "/stream/settings/grant", data={**data, "csrf_token": csrf_token_of(client)}
    )
    assert response.status_code == 302, response.text


def test_the_installed_tab_is_in_the_tab_bar_and_in_settings(app, people):
    client = app.test_client()
    sign_in(client, "owner@example.com")
    assert 'id="tab-invoices"' in client.get("/stream/activity").text
    assert '<th scope="col">Invoices</th>' in client.get("/stream/settings").text


@pytest.mark.parametrize("kind", ["role", "user", "team"])
def test_it_is_granted_by_role_person_and_team(app, people, kind):
    from activity_stream_invoices import record_invoice

    with app.test_request_context():
        issued = record_invoice(
            people["admin@example.com"], people["fox@example.com"], "I-1", "A", 1
        )
    dana = people["teammate@example.com"]
    target = {"role": dana.role_id, "user": dana.id, "team": dana.team_ids()[0]}[kind]
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    viewer = app.test_client()
    sign_in(viewer, "teammate@example.com")
    assert viewer.get("/stream/invoices").status_code == 403
    grant(admin, kind, target)
    # Dana's scope is "related": Fox, in her team, owns the invoice.
    assert rows_seen_by(app, "teammate@example.com", "invoices") == [issued]
    grant(admin, kind, target, granted=False)
    assert viewer.get("/stream/invoices").status_code == 403


def test_left_out_it_leaves_no_trace_in_the_ui(make_app, people):
    app = make_app(PLUGINS_DISABLED="invoices")
    client = app.test_client()
    sign_in(client, "owner@example.com")
    for url in ("/stream/activity", "/stream/settings", "/profile"):
        assert "nvoice" not in client.get(url).text, url
    assert client.get("/stream/invoices").status_code == 404
    assert client.get("/stream/invoices/rows").status_code == 404
