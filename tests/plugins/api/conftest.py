"""Fixtures of the API's tests: tokens for the demo people, a dozen events to read, a rate
clock that stands still."""

from types import SimpleNamespace

import pytest

from core.db import database
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.people import Team


@pytest.fixture
def token_for(app, people):
    """Return a function making a token for a demo person: ``token_for(email, scope)``."""
    from plugins.api.tokens import create_token

    def make(email, scope="read", expires_at=None, name="test"):
        with app.app_context(), database.atomic():
            _, token = create_token(people[email], name, scope, by=None, expires_at=expires_at)
        return token

    return make


@pytest.fixture
def mid_minute(monkeypatch):
    """Stop the rate limit's clock half way through a minute: a test counting requests
    against a rate must not see a minute end between two of them (the last minute's count
    then weighs less, and a request expected to be refused gets through)."""
    from plugins.api import rates

    monkeypatch.setattr(rates, "time", SimpleNamespace(time=lambda: 1_000_000 * 60 + 30.0))


def bearer(token):
    """Return the headers sending ``token``."""
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def events(app, people):
    """Record a dozen events: tasks by several people, some to the teammate, and one change
    of the Delivery team (its name and description); return ``{name: id}``."""
    p = {email.split("@")[0]: user for email, user in people.items()}
    ids = {}
    with app.app_context(), database.atomic():
        for number in range(10):
            actor = (p["admin"], p["pm"], p["sales"])[number % 3]
            audience = Audience(users={p["teammate"].id}) if number % 2 else None
            event = record_activity(
                actor, "task.created", Ref("task", number + 1, f"Task {number}"), audience=audience
            )
            ids[f"task{number}"] = event.id
        delivery = Team.get(Team.name == "Delivery")
        event = record_activity(
            p["admin"],
            "team.updated",
            Ref("team", delivery.id, "Delivery"),
            changes={"name": ["Delivery", "Delivery Crew"], "description": ["Runs", "Delivery"]},
            audience=Audience(users={p["teammate"].id}),
        )
        ids["team"] = event.id
    return ids
