"""The API section of the Settings tab: every token, a form to make one, and Revoke.

The owner and admins (the Settings tab's viewers) see the same list: every token of every
person. Each makes tokens for themselves only, and may revoke any token, the owner's
included: revoking only ever takes access away, and it is recorded with the token's person in
its audience, so the owner sees on the Activity tab who ended their token.
"""

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask import g
from flask import render_template
from markupsafe import Markup

from core.db import utcnow
from core.people import Role
from core.people import User
from plugins.api.tokens import NAME_LIMIT
from plugins.api.tokens import SCOPES
from plugins.api.tokens import ApiToken

# What the section shows of a request that just made or refused a token; the page fallback
# (no JavaScript) renders the whole Settings panel, so the state travels on ``g``.
STATE = "api_tokens_state"


@dataclass(frozen=True)
class TokenRow:
    """One token as listed: the row, its person, who made it (None: the command line) and
    its status (``active``, ``revoked``, ``expired`` or ``inactive``: its person may not sign
    in)."""

    token: ApiToken
    person: User | None
    made_by: User | None
    status: str


def sections(viewer):
    """Return the API section's HTML for ``viewer``, as a list: empty unless ``viewer`` is the
    owner or an admin, who alone manage tokens."""
    if not viewer.is_admin:
        return []
    return [render(viewer, **g.get(STATE, {}))]


def render(viewer, created=None, errors=None, form=None, message=None):
    """Render the section: the tokens, the form (``form``: the values posted, ``errors``:
    ``{field: message}``), the token just made (``created``: ``(row, token)``, shown this
    once), and ``message`` for the status line (out of band, for htmx answers)."""
    zone = viewer.zone()
    html = render_template(
        "api/settings_section.html",
        viewer=viewer,
        rows=token_rows(),
        created=created,
        errors=errors or {},
        form=form or {},
        scopes=SCOPES,
        name_limit=NAME_LIMIT,
        message=message,
        zone=zone.key,
        tomorrow=(datetime.now(zone) + timedelta(days=1)).date().isoformat(),
    )
    return Markup(html)


def token_rows(where=None, now=None):
    """Return every token (or those matching ``where``), newest first, as ``TokenRow`` (two
    queries, however many)."""
    now = now or utcnow()
    query = ApiToken.select().order_by(ApiToken.id.desc())
    tokens = list(query.where(where) if where is not None else query)
    ids = {token.user_id for token in tokens} | {token.created_by for token in tokens}
    ids.discard(None)
    people = {}
    if ids:
        query = User.select(User, Role).join(Role).where(User.id.in_(sorted(ids)))
        people = {user.id: user for user in query}
    return [
        TokenRow(
            token,
            people.get(token.user_id),
            people.get(token.created_by),
            status_of(token, people.get(token.user_id), now),
        )
        for token in tokens
    ]


def status_of(token, person, now):
    """Return why ``token`` works or not, as the API's gate decides it: revoked first, then
    expired, then a person who may no longer sign in."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    if person is None or not person.is_active:
        return "inactive"
    return "active"
