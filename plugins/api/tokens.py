"""Personal API tokens: who a request to ``/api/v1`` acts as, and what it may do.

A token is shown once, when it is made; the database keeps only its SHA-256 digest (a token is
32 random bytes, so a plain digest cannot be searched back, and a lookup by digest is one index
seek that leaks nothing by its timing). A request acts as the token's person with that
person's visibility of today: a token never sees more than its person would in the UI, and it
stops working the moment its person may no longer sign in, or it is revoked or expires.
"""

import hashlib
import secrets

import peewee

from core.db import BaseModel
from core.db import utcnow

PREFIX = "ast_"  # so a leaked token is recognisable (secret scanners match on it)
SCOPES = {
    "events:write": "record events",
    "read": "read the tabs its person may see, and export them",
}
NAME_LIMIT = 80


class ApiToken(BaseModel):
    """One personal API token. ``digest`` is the SHA-256 of the token; ``shown`` its first
    characters, to tell tokens apart in lists."""

    id = peewee.AutoField()
    user_id = peewee.IntegerField(index=True)
    name = peewee.CharField(max_length=NAME_LIMIT)
    scope = peewee.CharField(max_length=32)
    digest = peewee.CharField(max_length=64, unique=True)
    shown = peewee.CharField(max_length=16)
    created_by = peewee.IntegerField(null=True)
    created_at = peewee.DateTimeField(default=utcnow)
    expires_at = peewee.DateTimeField(null=True)
    last_used_at = peewee.DateTimeField(null=True)
    revoked_at = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "api_token"

    def usable(self, now=None):
        """Tell whether the token may still be used (not revoked, not expired)."""
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


MODELS = [ApiToken]


def digest_of(token):
    """Return the stored digest of ``token`` (hex SHA-256)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret():
    """Return a new token: the prefix and 43 characters of 32 random bytes."""
    return PREFIX + secrets.token_urlsafe(32)


def find_token(token):
    """Return the ``ApiToken`` row of ``token`` (usable or not), or None."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    return ApiToken.get_or_none(ApiToken.digest == digest_of(token))


def create_token(person, name, scope, by, expires_at=None):
    """Make a token for ``person`` (a User) named ``name`` with ``scope``, made by ``by`` (a
    User, or None for the command line), and record it. Returns ``(row, token)``; the token
    itself is never stored, so this is the only time it can be shown."""
    token = new_secret()
    row = ApiToken.create(
        user_id=person.id,
        name=name,
        scope=scope,
        digest=digest_of(token),
        shown=token[: len(PREFIX) + 6],
        created_by=getattr(by, "id", None),
        expires_at=expires_at,
    )
    _record(by, "api_token.created", row, person, {"scope": [None, scope]})
    return row, token


def revoke_token(row, by):
    """End ``row`` at once (its next request is refused) and record it; a token already
    revoked stays as it is."""
    if row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    row.save(only=[ApiToken.revoked_at])
    _record(by, "api_token.revoked", row, _person_of(row), None)


def note_use(row):
    """Stamp ``row``'s last use (at most once a minute, so reads do not turn into a write
    each); its first use is recorded as an event."""
    now = utcnow()
    first = row.last_used_at is None
    if not first and (now - row.last_used_at).total_seconds() < 60:
        return
    with BaseModel._meta.database.atomic():
        updated = (
            ApiToken.update(last_used_at=now)
            .where(
                (ApiToken.id == row.id)
                & (
                    ApiToken.last_used_at.is_null()
                    if first
                    else (ApiToken.last_used_at == row.last_used_at)
                )
            )
            .execute()
        )
        if first and updated:  # one request wins the first use, whatever the concurrency
            _record(_person_of(row), "api_token.used", row, _person_of(row), None)
    row.last_used_at = now


def _person_of(row):
    from core.people import User

    return User.get_or_none(User.id == row.user_id)


def _record(actor, verb, row, person, changes):
    from core.events import Audience
    from core.events import Ref
    from core.events import record_activity

    audience = Audience(users={person.id}) if person is not None else None
    record_activity(
        actor, verb, Ref("api_token", row.id, row.name), changes=changes, audience=audience
    )
