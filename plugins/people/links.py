"""One-time links: an invitation to choose a first password, or a password reset.

The token travels only in the link (shown once to the admin, or mailed through
``core.notifications``); the table keeps its SHA-256. A link works once, until it expires,
for an active user who may sign in; issuing a new one spends the older ones.
"""

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from flask import url_for

from core.db import utcnow
from core.people import Role
from core.people import User
from plugins.people.models import INVITE
from plugins.people.models import RESET
from plugins.people.models import OneTimeLink

LIFETIMES = {INVITE: timedelta(days=7), RESET: timedelta(hours=24)}
VALID_FOR = {INVITE: "7 days", RESET: "24 hours"}


def token_hash(token):
    """Return the stored form of ``token``."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(actor, user, purpose):
    """Create a link for ``user`` in the caller's transaction, spending older ones; return
    its token (the only copy)."""
    now = utcnow()
    OneTimeLink.update(used_at=now).where(
        (OneTimeLink.user == user.id) & OneTimeLink.used_at.is_null()
    ).execute()
    token = secrets.token_urlsafe(32)
    OneTimeLink.create(
        user=user.id,
        token_hash=token_hash(token),
        purpose=purpose,
        created_by_id=actor.id if actor is not None else None,
        created_at=now,
        expires_at=now + LIFETIMES[purpose],
    )
    return token


def url_of(token):
    """Return the absolute URL of the link with ``token``."""
    return url_for("people_links.choose_password", token=token, _external=True)


def find(token):
    """Return the open link named by ``token`` with its user (and role), or None."""
    if not token or len(token) > 128:
        return None
    link = (
        OneTimeLink.select(OneTimeLink, User, Role)
        .join(User)
        .join(Role)
        .where(OneTimeLink.token_hash == token_hash(token))
        .first()
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    if not (link.user.active and link.user.role.can_sign_in):
        return None
    return link


def spend(link):
    """Mark ``link`` used in the caller's transaction; tell whether this call spent it (a
    second, concurrent use finds it spent)."""
    return bool(
        OneTimeLink.update(used_at=utcnow())
        .where((OneTimeLink.id == link.id) & OneTimeLink.used_at.is_null())
        .execute()
    )


def mail_is_configured():
    """Tell whether links can be mailed: an SMTP server is set and the Email plugin is on."""
    manager = current_app.extensions["plugin_manager"]
    return bool(current_app.config.get("SMTP_URL")) and manager.has_plugin("plugins.email")
