"""Unlock: an owner or admin lifts a lock from its row on the Logins tab, whichever limit it
was (an account name, an account name from one known browser, an IP); recorded twice: a row
of the sign-in log, and an event of the event store."""

from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from core.auth.signins import ACCOUNT_LOCKED
from core.auth.signins import IP_LOCKED
from core.auth.signins import LOCKS
from core.auth.signins import UNLOCKED
from core.auth.signins import record_sign_in_attempt
from core.auth.throttle import unlock as lift_lock
from core.db import database
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from plugins.logins import queries
from plugins.logins.views import FEED
from plugins.logins.views import browser_words
from plugins.logins.views import lock_key
from plugins.logins.views import prepare_rows

UNLOCKED_EVENT = "login.unlocked"  # the event an unlock records in the event store


def attach(feed):
    """Add Unlock to ``feed``'s blueprint (the Logins tab's ``FEED``); once per process, before
    its first app."""
    feed.route("/<int:record_id>/unlock", methods=["POST"])(unlock)


def unlock(record_id):
    """Lift the lock that the lock row ``record_id`` records; answer the row, updated."""
    if not current_user.is_admin:
        abort(403, "Only the Super Admin and Admins may unlock an account.")
    record = FEED.get(current_user, record_id)  # 404 unless the viewer may see it
    if record.outcome not in LOCKS:
        abort(400, "record: only a lock (of an account, a known browser or an IP) can be unlocked.")
    value = record.ip if record.outcome == IP_LOCKED else record.name_typed.strip().lower()
    with database.atomic():
        if lift_lock(lock_key(record, record.user_agent)):
            what = lock_words(record, value)
            record_sign_in_attempt(
                record.name_typed,
                _user_of(record),
                UNLOCKED,
                detail=f"{what} unlocked by {current_user.name}",
            )
            if record.user_id:
                subject = Ref("user", record.user_id, value)
            else:
                kind = "ip" if record.outcome == IP_LOCKED else "sign_in_name"
                subject = Ref(kind, value, value)
            audience = Audience(users={record.user_id} if record.user_id else set())
            record_activity(
                current_user,
                UNLOCKED_EVENT,
                subject,
                audience=audience,
                summary=f"lifted the lock of {what}",
            )
    if not request.htmx:
        return redirect(FEED.url())
    (row,) = queries.LIST.read(
        queries.visible_attempts(
            current_user,
            FEED.parse_filters(request.args),
            older_than=record_id + 1,
            newer_than=record_id - 1,
        )
    )
    return render_template("logins/rows.html", rows=prepare_rows(current_user, [row]))


def lock_words(record, value):
    """Return what a lock row locked, as the unlock's records say it."""
    if record.outcome == ACCOUNT_LOCKED:
        return f"account {value}"
    if record.outcome == IP_LOCKED:
        return f"IP {value}"
    browser = browser_words(record) or "a browser"
    return f"account {value} from {browser} at {record.ip or 'no IP'}"


def _user_of(record):
    from core.people import User

    return User.get_or_none(User.id == record.user_id) if record.user_id else None
