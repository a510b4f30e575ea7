"""Every person's own Security page (``/profile/security``): their recent sign-ins, their open
sessions, a password change, and "This wasn't me".

The page reads only rows about the signed-in person: the sign-in log's rows carrying their
user id (the sign-in view matches the typed name to an account before it records an attempt,
so a stranger's attempt with their email carries their id too), and their own sessions.
Nothing on it names anyone else: a row's free-text detail (which may name the admin who acted)
is not shown, only what happened, when, from which browser and where.

A password change checks the current password through the sign-in limits
(``core.auth.throttle``), as a sign-in does, so the form is no way round them to guess a
password; a new password is refused when too short or too long, when the two differ, and when
it is in the bundled list of common passwords (``core/auth/data``). "This wasn't me" ends every
session of the person, mails them a reset link (the People plugin's one-time links) and tells
the owner and admins.
"""

import functools
import gzip
import logging
from pathlib import Path

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user

from core.auth import sessions
from core.auth import signins
from core.auth import throttle
from core.auth.clients import country_label
from core.auth.clients import country_name
from core.auth.clients import current_client
from core.auth.clients import readable_os
from core.db import database
from core.db import for_update
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.notifications import Notification
from core.notifications import notify
from core.people import ADMIN
from core.people import OWNER
from core.people import Role
from core.people import User
from core.plugins import hooks
from core.records import all_or_nothing

log = logging.getLogger(__name__)

bp = Blueprint("auth_security", __name__)

# How many of the person's own sign-in rows the page lists, newest first.
RECENT = 50
# The one rule for a new password, wherever it is chosen.
MIN_LENGTH = 8
MAX_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"
COMMON_MESSAGE = (
    "it is in a list of common passwords people's accounts are broken into with: "
    "choose one nobody else would"
)
WRONG_CURRENT = "that is not your current password"
# A wrong current password is recorded in the sign-in log as a failed attempt, saying where.
WRONG_CURRENT_DETAIL = "current password refused on the Security page"

# What each row of the sign-in log reads as on the person's own page.
OUTCOME_WORDS = {
    signins.SIGNED_IN: "Signed in",
    signins.WRONG_PASSWORD: "Wrong password",
    signins.UNKNOWN_USER: "Unknown name",
    signins.LOCKED: "Refused: signing in was paused",
    signins.INACTIVE: "Refused: account deactivated",
    signins.NOT_ALLOWED: "Refused: this role may not sign in",
    signins.INVALID_FORM: "Incomplete form",
    signins.SIGNED_OUT: "Signed out",
    signins.SESSION_EXPIRED: "Session expired",
    signins.SESSION_REVOKED: "Session ended",
    signins.ACCOUNT_LOCKED: "Signing in paused for a while",
    signins.CLIENT_LOCKED: "Signing in paused for one browser",
    signins.IP_LOCKED: "Network address paused",
    signins.UNLOCKED: "Unlocked with the emailed link",
}
FAILED = {*signins.FAILURES, *signins.LOCKS}


class Refused(Exception):
    """A refused form: the field it is about, why, and the status to answer with."""

    def __init__(self, field, message, status=400):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status


@functools.cache
def common_passwords():
    """Return the bundled list of common passwords (lower case), read once per process."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def check_new_password(password, confirmation):
    """Refuse a new password (``Refused`` naming the field) that is too short or too long, in
    the list of common passwords, or unlike its confirmation."""
    if len(password) < MIN_LENGTH:
        raise Refused("new_password", f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Refused("new_password", f"must be at most {MAX_LENGTH} characters")
    if password.strip().lower() in common_passwords():
        raise Refused("new_password", COMMON_MESSAGE)
    if password != confirmation:
        raise Refused("confirmation", "the two new passwords differ")


def recent_sign_ins(user):
    """Return the last ``RECENT`` rows of the sign-in log about ``user`` (their user id, on
    its index), newest first, as dicts the page reads, and whether older ones exist."""
    rows = list(
        signins.SignInAttempt.select()
        .where(signins.SignInAttempt.user_id == user.id)
        .order_by(signins.SignInAttempt.id.desc())
        .limit(RECENT + 1)
    )
    return [describe(row) for row in rows[:RECENT]], len(rows) > RECENT


def describe(row):
    """Return what the page shows of one sign-in row: never its typed name or free text."""
    browser = " on ".join(p for p in (row.browser, readable_os(row.os)) if p)
    return {
        "id": row.id,
        "at": row.attempted_at,
        "what": OUTCOME_WORDS.get(row.outcome, row.outcome.replace("_", " ")),
        "failed": row.outcome in FAILED,
        "browser": browser or "Unknown browser",
        "device": row.device,
        "ip": row.ip,
        "place": country_name(row.country) or country_label(row.country),
        "flags": signins.flag_labels(row.flags) if row.outcome == signins.SIGNED_IN else [],
    }


def render_page(error=None, status=200):
    """Render the viewer's Security page (with a refused form's ``Refused``)."""
    recent, more = recent_sign_ins(current_user)
    page = render_template(
        "auth/security.html",
        recent=recent,
        more=more,
        limit=RECENT,
        sessions=sessions.active_sessions(current_user),
        error=error,
        min_length=MIN_LENGTH,
    )
    return make_response(page, status)


@bp.get("/profile/security")
@login_required
def page():
    """Show the viewer's own sign-ins, sessions, password form and "This wasn't me"."""
    return render_page()


@bp.post("/profile/security/password")
@login_required
def change_password():
    """Change the viewer's password: the current one checked through the sign-in limits,
    the new one checked by ``check_new_password``; every other session ends."""
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirmation = request.form.get("confirmation", "")
    try:
        if not current:
            raise Refused("current_password", "enter your current password")
        # Checked before the current password: a refused new password spends no guess.
        check_new_password(new, confirmation)
        check_current_password(current)
    except Refused as refused:
        response = render_page(refused, refused.status)
        if refused.status == 429:
            response.headers["Retry-After"] = str(getattr(refused, "retry_after", 60))
        return response
    set_password(new)
    flash("Your password is changed. Every other session of yours has ended.")
    return redirect(url_for("auth_security.page"))


def check_current_password(password):
    """Check the viewer's current password as a sign-in attempt is checked: the limits first
    (a refused attempt checks nothing), then one password check, recorded when it fails."""
    from core.auth import views  # the sign-in view's own checks and records

    user = views.find_user_by_id(current_user.id)
    client = current_client()
    known = signins.is_known_pair(user.id, client.pair)
    verdict = views.check_limits(
        user.email, user.email, user, client, pair=client.pair if known else None
    )
    if verdict.refused:
        views.wait_as_long_as_a_check()
        refused = Refused("current_password", views.failure_message(verdict), 429)
        refused.retry_after = verdict.retry_after
        raise refused
    # One hash check whatever the case (an account without a password included), as at
    # sign-in: the answer takes as long either way.
    matches = views.check_hash(user.password_hash or views.dummy_hash(), password)
    matches = matches and bool(user.password_hash)
    with database.atomic():
        throttle.settle(verdict, matches)
        if not matches:
            signins.record_sign_in_attempt(
                user.email, user, signins.WRONG_PASSWORD, client, detail=WRONG_CURRENT_DETAIL
            )
            for kind, _value, until, tier in verdict.locks:
                locked_user = user if kind != throttle.IP else None
                views.record_lock(user.email, user.email, locked_user, kind, until, tier, client)
    if not matches:
        raise Refused("current_password", WRONG_CURRENT, 400)


def set_password(password):
    """Keep the viewer's new password; end every other session of theirs (a newer session
    generation), keep this one, record the change and mail the owner of the account."""
    client = current_client()
    with database.atomic():
        user = User.select(User, Role).join(Role).where(User.id == current_user.id)
        user = for_update(user).get()
        user.set_password(password)  # moves the session generation on
        user.save()
        this = current_user.session_id
        # This session follows the new generation; every other one is of the old, and ends.
        sessions.UserSession.update(generation=user.session_generation).where(
            sessions.UserSession.id == this
        ).execute()
        sessions.end_all_sessions(
            user.id, "revoked", "password changed on the Security page", keep=this
        )
        record_activity(
            user,
            "user.updated",
            Ref("user", user.id, user.name),
            changes={"password": ["(hidden)", "(hidden)"]},
            summary="Password changed on the Security page",
            audience=Audience(users={user.id}),
        )
        send(
            Notification(
                kind="user.password_changed",
                recipients=(user,),
                subject="Your password was changed",
                template="auth/mail/password_changed",
                context={"client": client, "security_url": security_url()},
                private=True,
            )
        )
    # The cookie names the session with its generation: name the new one.
    user.session_token = current_user.session_token
    user.session_id = this
    login_user(user)


@bp.post("/profile/security/not-me")
@login_required
def not_me():
    """End every session of the viewer (this one too), mail them a reset link, tell the
    owner and admins, record it; then show what happened, signed out."""
    if request.form.get("confirm") != "yes":
        refused = Refused("confirm", "tick the box to confirm that this was not you")
        return render_page(refused, 400)
    client = current_client()
    with database.atomic():
        user = User.select(User, Role).join(Role).where(User.id == current_user.id)
        user = for_update(user).get()
        user.session_generation += 1
        ended = sessions.end_all_sessions(user.id, "revoked", "reported as not them")
        mailed = send_reset_link(user)
        if mailed:
            # Whoever was signed in may know the password: only the mailed link opens the
            # account now. Without mail it stays, or nobody could sign in until an admin acts.
            user.password_hash = ""
        user.save()
        record_activity(
            user,
            "user.reported_suspicious_activity",
            Ref("user", user.id, user.name),
            summary=f"Reported activity that was not them; {ended} session(s) ended",
            audience=Audience(users={user.id}),
        )
        admins = tell_admins(user, client)
    logout_user()
    session.clear()
    return render_template("auth/security_reported.html", mailed=mailed, ended=ended, admins=admins)


def send_reset_link(user):
    """Mail ``user`` a one-time link to choose a new password (``issue_reset_link``: the
    People plugin's reset links), in the caller's transaction; tell whether one was mailed.
    Never shown on a page: whoever holds the session may be the one who should not have it."""
    issued = hooks(current_app).issue_reset_link(user=user)
    if issued is None:  # no plugin issues links, or mail is not set up
        return False
    url, valid_for = issued
    return send(
        Notification(
            kind="user.reset",
            recipients=(user,),
            subject="Reset your password",
            template="auth/mail/reset_after_report",
            context={"url": url, "valid_for": valid_for},
            private=True,  # the link opens the account: listed to its recipient only
        )
    )


def tell_admins(user, client):
    """Mail the owner and the admins (but ``user``) that ``user`` reported activity that was
    not them; return how many were told."""
    admins = list(
        User.select(User, Role)
        .join(Role)
        .where(Role.kind.in_((OWNER, ADMIN)) & User.active & (User.id != user.id))
        .order_by(User.id)
    )
    if not admins:
        return 0
    sent = send(
        Notification(
            kind="user.reported_suspicious_activity",
            recipients=tuple(admins),
            subject=f"{user.name} reported activity on their account that was not them",
            template="auth/mail/reported",
            context={"person": user, "client": client},
        )
    )
    return len(admins) if sent else 0


def security_url():
    """Return the absolute address of the Security page (for mails)."""
    return url_for("auth_security.page", _external=True)


def send(notification):
    """Queue ``notification`` (or what a callable returns) under a savepoint; tell whether a
    message was queued. A failure is logged and never undoes the change it is about."""
    try:
        with all_or_nothing("security_notify"):
            made = notification() if callable(notification) else notification
            return bool(notify(made))
    except Exception:
        log.exception("could not queue the %s notification", getattr(notification, "kind", ""))
        return False
