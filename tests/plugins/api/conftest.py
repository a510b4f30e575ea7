"""Fixtures of the API's tests: tokens for the demo people."""

import pytest

from core.db import database


@pytest.fixture
def token_for(app, people):
    """Return a function making a token for a demo person: ``token_for(email, scope)``."""
    from plugins.api.tokens import create_token

    def make(email, scope="read", expires_at=None, name="test"):
        with app.app_context(), database.atomic():
            _, token = create_token(people[email], name, scope, by=None, expires_at=expires_at)
        return token

    return make


def bearer(token):
    """Return the headers sending ``token``."""
    return {"Authorization": f"Bearer {token}"}
