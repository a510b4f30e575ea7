"""The Invoices tab, tested with Activity Stream's own fixtures (``core.testing``)."""

import pytest
from activity_stream_invoices import Invoice
from activity_stream_invoices import record_invoice

from core.db import database
from core.events import ActivityEvent
from core.testing import rows_seen_by
from core.testing import sign_in
from plugins.settings.models import TabGrant


@pytest.fixture
def issued(app, people):
    """Two invoices: one owned by Dana (Delivery team), one by Sam (Sales team)."""
    with app.test_request_context():
        admin = people["admin@example.com"]
        dana = record_invoice(admin, people["teammate@example.com"], "INV-1", "Acme", 12_000)
        sam = record_invoice(admin, people["sales@example.com"], "INV-2", "Globex", 500, "paid")
    return {"dana": dana, "sam": sam}


def test_an_invoice_and_its_event_are_written_together(app, people, issued):
    with app.app_context():
        assert Invoice.get_by_id(issued["dana"]).owner_name == "Dana Scully"
        event = ActivityEvent.get(ActivityEvent.object_id == str(issued["dana"]))
        assert event.verb == "invoice.issued"


def test_a_failed_change_leaves_neither_invoice_nor_event(app, people):
    with app.test_request_context(), pytest.raises(LookupError), database.atomic():
        record_invoice(people["admin@example.com"], people["pm@example.com"], "INV-9", "X", 1)
        raise LookupError("the caller's change failed")
    with app.app_context():
        assert Invoice.select().count() == 0
        assert ActivityEvent.select().where(ActivityEvent.verb == "invoice.issued").count() == 0


def test_a_bad_status_is_refused_naming_the_field(app, people):
    with app.test_request_context(), pytest.raises(ValueError, match="status"):
        record_invoice(people["admin@example.com"], people["pm@example.com"], "I", "X", 1, "lost")


def test_the_owner_sees_every_invoice_and_filters_by_status(app, issued):
    assert rows_seen_by(app, "owner@example.com", "invoices") == [issued["sam"], issued["dana"]]
    assert rows_seen_by(app, "owner@example.com", "invoices", status="paid") == [issued["sam"]]
    assert rows_seen_by(app, "owner@example.com", "invoices", q="Acme") == [issued["dana"]]


def test_a_teammate_sees_only_what_their_team_owns(app, people, issued):
    with app.app_context():
        TabGrant.create(tab="invoices", role=people["fox@example.com"].role)
    # Fox is a Teammate in Delivery, like Dana: Dana's invoice only.
    assert rows_seen_by(app, "fox@example.com", "invoices") == [issued["dana"]]


def test_an_invoice_out_of_scope_answers_404(app, people, issued):
    with app.app_context():
        TabGrant.create(tab="invoices", role=people["fox@example.com"].role)
    client = app.test_client()
    sign_in(client, "fox@example.com")
    assert client.get(f"/stream/invoices/{issued['dana']}").status_code == 200
    assert client.get(f"/stream/invoices/{issued['sam']}").status_code == 404
    assert client.get("/stream/invoices?status=lost").status_code == 400


def test_the_activity_tab_phrases_the_issued_invoice(app, issued):
    client = app.test_client()
    sign_in(client, "owner@example.com")
    assert "issued invoice <strong>INV-2</strong>" in client.get("/stream/activity").text


def test_demo_data_is_seeded_once(app, people):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        assert Invoice.select().count() == 30
