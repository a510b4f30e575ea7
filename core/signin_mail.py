"""Telling a user about their account: a lock, a sign-in from a new browser or country.

Sent through ``core.notifications.notify`` (the Email plugin's outbox, in the sign-in's
transaction) with the Logins tab's templates (``logins/<name>.txt`` and ``.html``). Without
the Email plugin nothing is sent; without the Logins plugin there are no templates and
nothing is sent either. A failure to queue a message is logged and never undoes the lock
or the sign-in it is about.
"""

import logging

from flask import current_app
from jinja2 import TemplateNotFound

from core.notifications import Notification
from core.notifications import notify
from core.records import all_or_nothing
from core.signins import NEW_BROWSER
from core.signins import NEW_COUNTRY
from core.signins import flag_labels

log = logging.getLogger(__name__)


def notify_lock(user, until, client):
    """Tell ``user`` that their account is locked until ``until`` (UTC), and from where."""
    _send(
        Notification(
            kind="login.locked",
            recipients=(user,),
            subject="Your account is locked for a while",
            template="logins/locked",
            context={"until": until, "client": client},
        )
    )


def notify_new_client(user, recorded, client):
    """Tell ``user`` about a sign-in from a browser or country they never signed in from."""
    if not recorded.known_user or not recorded.flags & (NEW_BROWSER | NEW_COUNTRY):
        return  # a first sign-in has nothing to compare with; a new IP alone is routine
    _send(
        Notification(
            kind="login.new_client",
            recipients=(user,),
            subject="A new sign-in to your account",
            template="logins/new_client",
            context={"client": client, "flags": flag_labels(recorded.flags)},
        )
    )


def _send(notification):
    try:
        current_app.jinja_env.get_template(f"{notification.template}.txt")
    except TemplateNotFound:
        return
    try:
        with all_or_nothing("sign_in_notify"):
            notify(notification)
    except Exception:
        log.exception("could not queue the %s notification", notification.kind)
