"""The API against its own OpenAPI document: schemathesis sends generated requests to every
operation the document describes (the WSGI app, a real database, SQLite and PostgreSQL), with
a ``read`` token for the reads and an ``events:write`` token for recording; each list again as
a CSV and a JSON Lines download, with a read token of its own. No answer may be a server
error, have a status, media type, header or body the document does not describe.

Examples are few and derandomized, so a run is the same every time and takes seconds.
"""

import re

import pytest
from hypothesis import HealthCheck
from hypothesis import Phase
from hypothesis import given
from hypothesis import settings

from core.db import database
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Team
from core.testing import sign_in
from tests.examples import workspace
from tests.plugins.api.conftest import bearer

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import content_type_conformance  # noqa: E402
from schemathesis.specs.openapi.checks import response_headers_conformance  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402
from schemathesis.specs.openapi.checks import status_code_conformance  # noqa: E402

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 25  # per operation: ~12 operations, two databases, well under a minute


@pytest.fixture
def world(app, people):
    """A few rows on every tab: events (one on a team), a Private Message, sign-ins."""
    p = {email.split("@")[0]: user for email, user in people.items()}
    with app.app_context(), database.atomic():
        for number in range(5):
            task = Ref("task", number, f"Task {number}")
            record_activity(p["pm"], "task.updated", task, changes={"status": ["open", "done"]})
        delivery = Team.get(Team.name == "Delivery")
        team = Ref("team", delivery.id, "Delivery")
        audience = Audience(users={p["teammate"].id})
        changes = {"name": ["Delivery", "Crew"]}
        record_activity(p["admin"], "team.updated", team, changes=changes, audience=audience)
        workspace("messages").send_private_message(p["pm"], [p["fox"]], "Plan", "Between us")
    for password in ("wrong", "demo-password"):
        sign_in(app.test_client(), "admin@example.com", password)


def test_every_operation_answers_as_the_document_says(app, token_for, world):
    reader = token_for("owner@example.com", scope="read")
    writer = token_for("owner@example.com", scope="events:write")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"GET /api/v1/activity", "GET /api/v1/email/{id}", "GET /api/v1/logins"} <= labels
    for operation in operations:
        token = writer if operation.method.upper() == "POST" else reader
        run_operation(operation, token)
    # A list as a CSV or JSON Lines download, with a token of its own: a rate of its own.
    exporter = token_for("owner@example.com", scope="read", name="exports")
    lists = [op for op in operations if "text/csv" in answers_of(op)]
    assert {op.path for op in lists} >= {"/api/v1/activity", "/api/v1/email", "/api/v1/logins"}
    for operation in lists:
        for media_type in ("text/csv", "application/x-ndjson"):
            run_operation(operation, exporter, {"Accept": media_type})


def answers_of(operation):
    """Return the media types of ``operation``'s 200 answer."""
    return operation.definition.raw["responses"].get("200", {}).get("content", {})


def run_operation(operation, token, headers=None):
    """Send ``EXAMPLES`` generated requests to ``operation`` and check every answer."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(headers={**bearer(token), **(headers or {})})
        case.validate_response(response, checks=CHECKS)

    check()


def test_the_document_is_public_and_written_from_each_tabs_declarations(app, client):
    from core.tabs import all_tabs

    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1") and "Problem" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    with app.app_context():
        feeds = [tab.feed for tab in all_tabs() if tab.feed is not None]
    assert {"activity", "email", "logins"} <= {feed.name for feed in feeds}
    for feed in feeds:
        operation = doc["paths"][f"/api/v1/{feed.name}"]["get"]
        names = [parameter["name"] for parameter in operation["parameters"]]
        assert names == [*feed.filter_keys, "limit", "after"], feed.name
        for qualifier in feed.filters.qualifiers:
            if qualifier.param and qualifier.choices:
                (parameter,) = [p for p in operation["parameters"] if p["name"] == qualifier.param]
                assert parameter["schema"]["items"]["enum"] == list(qualifier.choices)
        assert f"/api/v1/{feed.name}/{{id}}" in doc["paths"]
    assert "/api/v1/events" in doc["paths"]
    # Every request with a token counts against its rate: each such answer may be a 429.
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") != []:
                assert "429" in operation["responses"], f"{method} {path}"
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<script" not in page.text and "/api/v1/email" in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text)
