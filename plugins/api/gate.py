"""The API's gate: every ``/api/v1`` request but the public documents carries a token.

``Authorization: Bearer <token>``. The request then acts as the token's person: flask-login's
``current_user`` is that person for the request (no session, no cookie), so every function the
UI calls with the signed-in viewer (visibility, row scope, team names) answers the same here.
Deny by default: a route is public only when it is listed in ``PUBLIC``.

Every request let in is counted against its token's rate (``API_RATE_LIMIT`` a minute, reads
and writes alike): over it, a 429 with ``Retry-After``, before the view does any work.
"""

from functools import wraps

from flask import current_app
from flask import g
from flask import request

from plugins.api import rates
from plugins.api.problems import Problem
from plugins.api.tokens import find_token
from plugins.api.tokens import note_use

PUBLIC = {"api.openapi", "api.docs"}


def authenticate():
    """Before each API request: find the token, check it and its person, count the request
    against the token's rate, act as them."""
    if request.endpoint in PUBLIC:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "Send a token: Authorization: Bearer <token>.")
    row = find_token(token.strip())
    if row is None or not row.usable():
        raise Problem(401, "The token is unknown, revoked or expired.")
    person = _person(row.user_id)
    if person is None or not person.is_active:
        raise Problem(401, "The token's person may no longer sign in.")
    limit = current_app.config["API_RATE_LIMIT"]
    wait = rates.take(row.id, limit)
    if wait:
        raise Problem(
            429,
            f"This token sent more than {limit} requests in a minute.",
            headers={"Retry-After": str(wait)},
        )
    g.api_token = row
    g.recorded_via = f"api_token:{row.id}"  # every event this request records says so
    g._login_user = person  # flask-login's current_user, for this request only
    note_use(row)


def requires(scope):
    """Decorate an API view that needs ``scope`` (``events:write`` or ``read``): a token of
    another scope gets a 403 naming the scope it needs."""

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if g.api_token.scope != scope:
                raise Problem(403, f"This needs a token with the scope {scope}.")
            return view(*args, **kwargs)

        return checked

    return decorate


def _person(user_id):
    from core.people import User

    return User.get_or_none(User.id == user_id)
