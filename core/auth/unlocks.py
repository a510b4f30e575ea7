"""One-time "unlock and sign in" links, mailed with the notice of an account lock.

A lock of an account name keeps out every browser that never signed in to it, the rightful
user's new laptop included. The lock's notice carries a link that lets its reader sign in
anyway: the link page asks for the password, checks it outside the account's lock (the
link's own attempts are counted on the link, at most the account limit of password checks
per link), and on success lifts the lock and signs in. The browser then counts as known for
the account (``core.auth.throttle``), so further failures from elsewhere do not keep it out.

The token travels only in the link; the table keeps its SHA-256. A link works once, until it
expires (``LIFETIME``), for the user it was made for while they are active and may sign in.
"""

import hashlib
import secrets
from datetime import timedelta

import peewee

from core.db import BaseModel
from core.db import utcnow

LIFETIME = timedelta(hours=24)
VALID_FOR = "24 hours"


class UnlockLink(BaseModel):
    """One mailed link: whose account name it unlocks, until when, and whether it was used."""

    token_hash = peewee.CharField(max_length=64, primary_key=True)
    user_id = peewee.IntegerField(index=True)  # no foreign key: the user may be deleted later
    name = peewee.CharField(max_length=254)  # the account name (as the form normalises it)
    created_at = peewee.DateTimeField(default=utcnow, index=True)
    expires_at = peewee.DateTimeField()
    used_at = peewee.DateTimeField(null=True)
    checks = peewee.IntegerField(default=0)  # password checks reserved through the link

    class Meta:
        table_name = "sign_in_unlock_link"


MODELS = (UnlockLink,)


def token_hash(token):
    """Return the stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(user, name):
    """Create a link unlocking ``name`` for ``user`` in the caller's transaction; return its
    token (the only copy). Older links stay valid: each notice's link works until it expires.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    UnlockLink.create(
        token_hash=token_hash(token),
        user_id=user.id,
        name=name[:254],
        created_at=now,
        expires_at=now + LIFETIME,
    )
    if secrets.randbelow(64) == 0:
        prune(now)
    return token


def find(token):
    """Return the open link named by ``token``, or None (unknown, used or expired)."""
    if not token or len(token) > 128:
        return None
    link = UnlockLink.get_or_none(UnlockLink.token_hash == token_hash(token))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def reserve_check(link, limit):
    """Reserve one password check through ``link`` in the caller's transaction; tell whether
    it may go ahead (False: the link has had ``limit`` checks, or was used meanwhile).

    One conditional UPDATE: however many requests arrive at once, at most ``limit`` pass.
    """
    return bool(
        UnlockLink.update(checks=UnlockLink.checks + 1)
        .where(
            (UnlockLink.token_hash == link.token_hash)
            & UnlockLink.used_at.is_null()
            & (UnlockLink.expires_at > utcnow())
            & (UnlockLink.checks < limit)
        )
        .execute()
    )


def spend(link):
    """Mark ``link`` used in the caller's transaction; tell whether this call spent it (a
    second, concurrent use finds it spent)."""
    return bool(
        UnlockLink.update(used_at=utcnow())
        .where((UnlockLink.token_hash == link.token_hash) & UnlockLink.used_at.is_null())
        .execute()
    )


def prune(now):
    """Delete links that expired a week ago or more (nothing reads them any more)."""
    UnlockLink.delete().where(UnlockLink.expires_at < now - timedelta(days=7)).execute()
