"""Telling a user about their account: a lock, a sign-in from a new browser or country.

Sent through ``core.notifications.notify`` (the Email plugin's outbox, in the sign-in's
transaction) with the Logins tab's templates (``logins/<name>.txt`` and ``.html``). Without
the Email plugin nothing is sent; without the Logins plugin there are no templates and
nothing is sent either. A failure to queue a message is logged and never undoes the lock
or the sign-in it is about.

A lock's notice carries a one-time "unlock and sign in" link (``core.auth.unlocks``), made in the
same savepoint as the message: no message, no link.
"""

import logging

from flask import current_app
from flask import url_for
from jinja2 import TemplateNotFound

from core.auth import unlocks
from core.auth.signins import NEW_BROWSER
from core.auth.signins import NEW_COUNTRY
from core.auth.signins import flag_labels
from core.notifications import Notification
from core.notifications import notify
from core.plugins import hooks
from core.records import all_or_nothing

log = logging.getLogger(__name__)

LOCKED_TEMPLATE = "logins/locked"


def lock_notices_reach_users():
    """Tell whether a lock's notice, and so its unlock link, goes out to the account's
    address: the notice's templates exist, a plugin queues notifications, and an SMTP server
    is set. The same for every name, so the sign-in page may say so without telling whether
    an account exists."""
    if not current_app.config.get("SMTP_URL"):
        return False
    if not hooks(current_app).send_notification.get_hookimpls():
        return False
    return _has_template(LOCKED_TEMPLATE)


def notify_lock(user, name, until, client, one_browser=False):
    """Tell ``user`` that signing in as ``name`` is locked until ``until`` (UTC), from where,
    and give them a one-time link to unlock and sign in. ``one_browser``: the lock holds only
    the browser-and-IP pair of ``client``, one they signed in from before."""
    if not _has_template(LOCKED_TEMPLATE):
        return
    if not hooks(current_app).send_notification.get_hookimpls():
        return  # nothing would carry the link: make none

    def notification():
        token = unlocks.issue(user, name)
        return Notification(
            kind="login.locked",
            recipients=(user,),
            subject="Your account is locked for a while",
            template=LOCKED_TEMPLATE,
            context={
                "until": until,
                "zone": user.zone(),
                "client": client,
                "one_browser": one_browser,
                "unlock_url": url_for("auth.unlock", token=token, _external=True),
                "valid_for": unlocks.VALID_FOR,
            },
        )

    _send("login.locked", notification)


def notify_new_client(user, recorded, client):
    """Tell ``user`` about a sign-in from a browser or country they never signed in from."""
    if not recorded.known_user or not recorded.flags & (NEW_BROWSER | NEW_COUNTRY):
        return  # a first sign-in has nothing to compare with; a new IP alone is routine
    if not _has_template("logins/new_client"):
        return
    _send(
        "login.new_client",
        lambda: Notification(
            kind="login.new_client",
            recipients=(user,),
            subject="A new sign-in to your account",
            template="logins/new_client",
            context={
                "client": client,
                "flags": flag_labels(recorded.flags),
                "security_url": url_for("auth_security.page", _external=True),
            },
        ),
    )


def _has_template(name):
    try:
        current_app.jinja_env.get_template(f"{name}.txt")
    except TemplateNotFound:
        return False
    return True


def _send(kind, make):
    """Queue the notification ``make()`` returns, under a savepoint: a failure undoes what
    ``make`` wrote (an unlock link) and the message, never the caller's other writes."""
    try:
        with all_or_nothing("sign_in_notify"):
            notify(make())
    except Exception:
        log.exception("could not queue the %s notification", kind)
