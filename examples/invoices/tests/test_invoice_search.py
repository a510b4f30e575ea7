"""The Invoices tab's search box and qualifiers, declared with ``core.listing.filters``: owner:,
status:, created: and words, on SQLite and PostgreSQL."""

import re

import pytest
from activity_stream_invoices import record_invoice

from core.testing import rows_seen_by
from core.testing import sign_in


@pytest.fixture
def issued(app, people):
    """Three invoices: two owned by Dana, one by Sam."""
    with app.test_request_context():
        admin, dana = people["admin@example.com"], people["teammate@example.com"]
        sam = people["sales@example.com"]
        return {
            "acme": record_invoice(admin, dana, "INV-1", "Acme Corp", 12_000),
            "draft": record_invoice(admin, dana, "INV-2", "Initech", 900, "draft"),
            "globex": record_invoice(admin, sam, "INV-3", "Globex", 5, "paid"),
        }


def seen(app, **query):
    return rows_seen_by(app, "owner@example.com", "invoices", **query)


def test_the_box_reads_words_owner_and_status(app, issued):
    assert seen(app, q="acm") == [issued["acme"]]
    assert seen(app, q="owner:dana") == [issued["draft"], issued["acme"]]
    assert seen(app, q="owner:dana -status:draft") == [issued["acme"]]
    assert seen(app, q="status:PAID") == [issued["globex"]]
    assert seen(app, q="owner:nobody") == []


def test_the_filter_bar_and_the_box_are_one_state(app, people, issued):
    client = app.test_client()
    sign_in(client, "owner@example.com")
    dana = people["teammate@example.com"]
    page = client.get("/stream/invoices", query_string={"owner": dana.id, "status": "sent"})
    assert [int(i) for i in re.findall(r'data-row-id="(\d+)"', page.text)] == [issued["acme"]]
    assert 'value="owner:&#34;Dana Scully&#34; status:sent"' in page.text.replace("&quot;", "&#34;")


def test_a_refused_term_is_named_and_the_rest_still_applies(app, issued):
    client = app.test_client()
    sign_in(client, "owner@example.com")
    page = client.get("/stream/invoices", query_string={"q": "globex status:lost colour:red"})
    assert page.status_code == 400
    error = re.search(r'id="feed-filter-error"[^>]*>(.*?)</p>', page.text, re.S).group(1)
    assert "status: expected one of draft, sent, paid, overdue" in error
    assert "colour: not a filter here" in error
    assert [int(i) for i in re.findall(r'data-row-id="(\d+)"', page.text)] == [issued["globex"]]
