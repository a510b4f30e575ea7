"""Sessions as records: one row per sign-in, named by the session cookie, ended on the server.

The signed cookie (Flask's session, through flask-login) holds ``"<user id>:<generation>:
<token>"``; the table keeps only the SHA-256 of the token, so a copy of the database opens no
session. A request is signed in only while its row is open, not expired, and of the user's
current session generation: signing out closes the row (a replayed cookie is refused at
once), signing out everywhere and a password change move the generation on (every row of an
older generation is dead, and is closed the next time it is presented or listed). Each end
of a session is a row of the sign-in log (``core.auth.signins``).
"""

import hashlib
import secrets
from datetime import timedelta

import peewee
from flask import current_app

from core.auth import signins
from core.auth.clients import Client
from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.people import Role
from core.people import User

# A session's "last seen" is written at most this often (a write per request would queue
# every page view behind SQLite's one writer).
TOUCH_EVERY = timedelta(seconds=60)

ENDINGS = {
    "signed_out": signins.SIGNED_OUT,
    "expired": signins.SESSION_EXPIRED,
    "revoked": signins.SESSION_REVOKED,
}


class UserSession(BaseModel):
    """One signed-in browser: whose, since when, last seen when, from where; open until
    ``ended_at`` is set (``end_reason``: signed_out, expired, revoked)."""

    id = peewee.BigAutoField()
    user_id = peewee.IntegerField()
    token_hash = peewee.CharField(max_length=64, unique=True)
    generation = peewee.IntegerField()
    started_at = peewee.DateTimeField(default=utcnow)
    last_seen_at = peewee.DateTimeField(default=utcnow)
    ip = peewee.CharField(max_length=45, null=True)
    country = peewee.CharField(max_length=16, default="")
    browser = peewee.CharField(max_length=64, default="")
    os = peewee.CharField(max_length=64, default="")
    device = peewee.CharField(max_length=64, default="")
    ended_at = peewee.DateTimeField(null=True)
    end_reason = peewee.CharField(max_length=16, null=True)

    class Meta:
        indexes = ((("user_id", "id"), False),)

    @property
    def client(self):
        """Return the ``Client`` this session was started from."""
        return Client(self.ip, self.country, self.browser, self.os, self.device)


MODELS = (UserSession,)


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def lifetime():
    """Return how long a session lives after sign-in (``PERMANENT_SESSION_LIFETIME``)."""
    return current_app.permanent_session_lifetime


def start_session(user, client):
    """Open a session for ``user`` from ``client`` in the caller's transaction; return it.

    The token goes on ``user`` (``session_token``), for the cookie identity; only its hash
    is stored.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession.create(
        user_id=user.id,
        token_hash=_hash(token),
        generation=user.session_generation,
        started_at=now,
        last_seen_at=now,
        ip=client.ip,
        country=client.country,
        browser=client.browser,
        os=client.os,
        device=client.device,
    )
    user.session_token = token
    user.session_id = row.id
    return row


def load(raw_identity):
    """Return the user whose open, current session ``raw_identity`` (``User.get_id()``'s
    ``"<id>:<generation>:<token>"``) names, or None.

    A dead session found here (expired, or of an older generation) is closed and recorded.
    """
    user_id, generation, token = (str(raw_identity).split(":") + ["", ""])[:3]
    if not (user_id.isdigit() and generation.isdigit() and token):
        return None
    row = (
        UserSession.select(UserSession, User, Role)
        .join(User, on=(UserSession.user_id == User.id), attr="user")
        .join(Role)
        .where(UserSession.token_hash == _hash(token))
        .first()
    )
    if row is None or row.ended_at is not None or row.user_id != int(user_id):
        return None
    user = row.user
    now = utcnow()
    if row.generation != user.session_generation or str(user.session_generation) != generation:
        end_session(row, "revoked")
        return None
    if now - row.started_at > lifetime():
        end_session(row, "expired")
        return None
    if not user.is_active:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        UserSession.update(last_seen_at=now).where(UserSession.id == row.id).execute()
    user.session_token = token
    user.session_id = row.id
    return user


def end_session(row, reason, detail=""):
    """Close session ``row`` (a ``UserSession``) for ``reason`` and record it, once; tell
    whether this call closed it (False: it was already closed)."""
    with database.atomic():
        closed = (
            UserSession.update(ended_at=utcnow(), end_reason=reason)
            .where((UserSession.id == row.id) & UserSession.ended_at.is_null())
            .execute()
        )
        if closed:
            user = User.get_or_none(User.id == row.user_id)
            signins.record_sign_in_attempt(
                user.email if user else f"user #{row.user_id}",
                user,
                ENDINGS[reason],
                row.client,
                session_id=row.id,
                detail=detail,
            )
    return bool(closed)


def end_all_sessions(user_id, reason="revoked", detail="", keep=None):
    """Close every open session of the user (sign out everywhere, a new password) but
    ``keep`` (a session id: the one the change was made from); return how many were closed.
    The caller moves the session generation on as well."""
    rows = UserSession.select().where(
        (UserSession.user_id == user_id) & UserSession.ended_at.is_null()
    )
    if keep is not None:
        rows = rows.where(UserSession.id != keep)
    return sum(end_session(row, reason, detail) for row in list(rows))


def active_sessions(user):
    """Return ``user``'s live sessions, newest first; dead ones met on the way are closed."""
    rows = (
        UserSession.select()
        .where((UserSession.user_id == user.id) & UserSession.ended_at.is_null())
        .order_by(UserSession.id.desc())
    )
    live = []
    now = utcnow()
    for row in list(rows):
        if row.generation != user.session_generation:
            end_session(row, "revoked")
        elif now - row.started_at > lifetime():
            end_session(row, "expired")
        else:
            live.append(row)
    return live
