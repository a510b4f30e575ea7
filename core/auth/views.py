"""Sign-in, sign-out, sessions and the profile page.

Every attempt through the form is recorded (``core.auth.signins``) in a transaction of its own.
Before any password is checked, the account name (or, for a browser-and-IP pair that signed
in to the account before, that pair's own key) and the IP are checked against their limits
(``core.auth.throttle``), under the database's write lock; a refused attempt checks no password.
Unknown user, wrong password, inactive and not allowed answer with the same page, status and
headers, and take as long as one password check. A lock answers with the truth (which limit,
for how long, what to do), in the same words for a real account and an unknown name, since
both lock alike. The typed email stays in the form. A lock's notice carries a one-time link
(``core.auth.unlocks``) whose page signs the user in past the account's lock. A sign-in opens a
session record (``core.auth.sessions``) that the cookie names; sign-out closes it on the server.
"""

import functools
import importlib
import os
import secrets
import statistics
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import LoginManager
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from core.auth import sessions
from core.auth import signins
from core.auth import throttle
from core.auth import unlocks
from core.auth.clients import current_client
from core.auth.mail import lock_notices_reach_users
from core.auth.mail import notify_lock
from core.auth.mail import notify_new_client
from core.db import database
from core.db import utcnow
from core.people import DENSITIES
from core.people import Role
from core.people import User
from core.people import is_time_zone
from core.people import time_zone_names
from core.security import rotate_csrf_token

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
# Flask-Login's own session protection would log users out on an IP change (mobile networks);
# the session records and the generation counter are what revoke cookies here.
login_manager.session_protection = None

FAILURE_MESSAGE = (
    "That email and password do not match an account that may sign in. "
    "After several failed attempts, signing in is paused for a while."
)
# A lock is told as it is: an unknown name locks exactly as a real one, so these words say
# nothing about whether the account exists.
NAME_LOCKED_MESSAGE = "Too many attempts for this name. Try again in {wait}, {way}."
IP_LOCKED_MESSAGE = (
    "Too many attempts from your network address. Try again in {wait}, "
    "or ask an administrator to lift the lock."
)
BY_LINK = "or use the link sent to the account's address"
BY_ADMIN = "or ask an administrator to lift the lock"
LINK_GONE = "This link does not work: it was used already or has expired. Sign in as usual."
LINK_WRONG_PASSWORD = "That password is not right. Try again."

# Recent times of this process's password checks, and of failed attempts from the check to
# the recorded outcome: a refused attempt waits the latter's median, so it answers as late as
# a checked one without spending the CPU (the point of refusing).
_check_times = deque(maxlen=64)
_failure_times = deque(maxlen=64)
_log_lock = threading.Lock()
_measure_lock = threading.Lock()


@functools.cache
def dummy_hash():
    """Return the hash checked for unknown names, made on first use (scrypt's 32 MB are
    not spent by a process that never sees an unknown name), with the method of real ones."""
    return generate_password_hash(secrets.token_urlsafe(16), method="scrypt")


def check_hash(password_hash, password):
    """Check ``password`` against ``password_hash``, timed (and logged under
    ``HASH_CHECK_LOG``, one line per check, so tests can count checks across processes)."""
    started = time.perf_counter()
    matches = check_password_hash(password_hash, password)
    _check_times.append(time.perf_counter() - started)
    path = current_app.config.get("HASH_CHECK_LOG")
    if path:
        with _log_lock, open(path, "a") as log:  # O_APPEND: whole lines across processes
            log.write(f"password hash checked pid={os.getpid()}\n")
    return matches


def wait_as_long_as_a_check():
    """Take as long as a failed attempt's check and record take here, without checking."""
    if not _failure_times and _measured_here():
        return  # this call took a hash's time already
    time.sleep(statistics.median(_failure_times or _check_times))


def _measured_here():
    """Time one check of the dummy hash when this process has timed none yet; tell whether
    this call did. One thread measures while the others wait for its figure: a threaded
    worker's burst of refused attempts must not each spend a hash (nor count as password
    checks: no typed password is checked here)."""
    with _measure_lock:
        if _failure_times or _check_times:
            return False
        started = time.perf_counter()
        check_password_hash(dummy_hash(), "")
        _check_times.append(time.perf_counter() - started)
        return True


@login_manager.user_loader
def load_user(identity):
    """Return the user whose open session the cookie names, or None (``core.auth.sessions``)."""
    return sessions.load(identity)


@login_manager.unauthorized_handler
def unauthorized():
    """Send a signed-out viewer to sign in; for htmx, redirect the whole page, never a panel."""
    if request.htmx:
        current = urlsplit(request.htmx.current_url or "").path or request.path
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login", next=current)
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def safe_next(target):
    """Return ``target`` if it is a path on this site, else the stream's start page."""
    if target and any(ord(character) < 0x20 for character in target):
        return url_for("home")  # a newline would end up in the Location header
    parts = urlsplit(target or "")
    if (
        target
        and not parts.scheme
        and not parts.netloc
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return url_for("home")


def find_user(email):
    """Return the user signing in with ``email`` (and their role), or None."""
    return User.select(User, Role).join(Role).where(User.email == email).first()


def authenticate(user, password):
    """Return the ``core.auth.signins`` outcome of ``password`` for ``user`` (None: unknown).

    Exactly one password check whatever the case, so every outcome takes as long.
    """
    if user is None:
        check_hash(dummy_hash(), password)
        return signins.UNKNOWN_USER
    matches = check_hash(user.password_hash or dummy_hash(), password)
    if not (matches and user.password_hash):
        return signins.WRONG_PASSWORD
    if not user.role.can_sign_in:
        return signins.NOT_ALLOWED
    if not user.active:
        return signins.INACTIVE
    return signins.SIGNED_IN


def wait_words(seconds):
    """Return how long a wait reads: "14 minutes", "1 minute", "6 hours"."""
    minutes = max(1, -(-seconds // 60))
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = -(-minutes // 60)
    return f"{hours} hours"


def failure_message(verdict):
    """Return what a failed attempt is told: the lock that holds it, or the one answer."""
    if throttle.IP in verdict.blocked:
        return IP_LOCKED_MESSAGE.format(wait=wait_words(verdict.retry_after))
    if verdict.blocked:  # the name's lock, for every browser or for this one
        way = BY_LINK if lock_notices_reach_users() else BY_ADMIN
        return NAME_LOCKED_MESSAGE.format(wait=wait_words(verdict.retry_after), way=way)
    return FAILURE_MESSAGE


def refused(verdict, next_url, typed):
    """Answer a failed sign-in: one status and header set for every kind of failure, the
    page naming a lock when one holds, the typed email kept in the form."""
    response = make_response(
        render_template(
            "auth/login.html", error=failure_message(verdict), next=next_url, email=typed
        ),
        401,
    )
    # Present on every failure, so the header set is the same whether or not a lock is on.
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form, or check it, record the attempt and start a fresh session."""
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    typed = request.form.get("email", "")
    email = typed.strip().lower()
    password = request.form.get("password", "")
    next_url = request.form.get("next", "")
    client = current_client()
    if not email or not password:
        with database.atomic():
            signins.record_sign_in_attempt(typed, None, signins.INVALID_FORM, client)
        message = "Enter your email and password."
        page = render_template("auth/login.html", error=message, next=next_url, email=typed)
        return page, 400
    user = find_user(email)
    # Probed for unknown names too (user 0 has no pairs), so both take the same steps.
    known = signins.is_known_pair(user.id if user else 0, client.pair)
    verdict = check_limits(typed, email, user, client, pair=client.pair if known else None)
    if verdict.refused:
        wait_as_long_as_a_check()
        return refused(verdict, next_url, typed)
    started = time.perf_counter()
    outcome = authenticate(user, password)
    _recorded, succeeded = record_outcome(typed, user, outcome, verdict, client)
    if not succeeded:
        _failure_times.append(time.perf_counter() - started)
        return refused(verdict, next_url, typed)
    return start_signed_in(user, next_url)


def start_signed_in(user, next_url):
    """Sign ``user`` in on a rotated session and send them on to ``next_url`` (if safe)."""
    # Rotate the session: nothing from before sign-in (a planted cookie) survives it.
    session.clear()
    login_user(user)
    rotate_csrf_token()
    return redirect(safe_next(next_url))


def check_limits(typed, email, user, client, pair=None, link=None):
    """Check and reserve the attempt's limits in a transaction of their own (committed before
    any password is checked); a refused attempt is recorded there. ``pair``: the client's
    browser-and-IP pair when it signed in to the account before; ``link``: the unlock link
    the attempt comes through (its own count replaces the name's limit)."""
    with database.atomic():
        verdict = throttle.reserve(email, client.ip, pair=pair, by_link=link is not None)
        if verdict.refused:
            limits = " and ".join(LIMIT_NAMES[kind] for kind in verdict.blocked)
            detail = f"refused by the {limits}, retry after {verdict.retry_after} s"
            if link is not None:
                detail += ", through an unlock link"
            signins.record_sign_in_attempt(typed, user, signins.LOCKED, client, detail=detail)
        elif link is not None:
            limit = current_app.config["LOCK_ACCOUNT_LIMIT"]
            if not unlocks.reserve_check(link, limit):
                # Used meanwhile, or as many checks as a lock allows: raising rolls the IP's
                # reservation back, and no password is checked.
                raise LinkUsedUp
    return verdict


class LinkUsedUp(Exception):
    """An unlock link was spent, or had its share of password checks, before this attempt."""


def record_outcome(typed, user, outcome, verdict, client, link=None):
    """Settle the limits, open the session of a sign-in, record the attempt and any lock it
    caused, and queue the notices, in one transaction; return the ``Recorded`` attempt and
    whether it signed in. Through an unlock link, a sign-in spends the link and lifts the
    account's lock (and this browser's own)."""
    succeeded = outcome == signins.SIGNED_IN
    email = typed.strip().lower()
    detail = ""
    with database.atomic():
        if link is not None:
            detail = "through an unlock link"
            if succeeded and not unlocks.spend(link):
                # A concurrent use of the same link signed in first: one use only.
                succeeded, outcome = False, signins.LOCKED
                detail = "the unlock link was used meanwhile"
        throttle.settle(verdict, succeeded)
        row = sessions.start_session(user, client) if succeeded else None
        recorded = signins.record_sign_in_attempt(
            typed,
            user,
            outcome,
            client,
            failures_before=verdict.failures_before if succeeded else 0,
            session_id=row.id if row else None,
            detail=detail,
        )
        for kind, _value, until, tier in verdict.locks:
            locked_user = user if kind != throttle.IP else None
            record_lock(typed, email, locked_user, kind, until, tier, client)
        if succeeded and link is not None:
            lift_locks_by_link(email, user, client)
        if succeeded:
            notify_new_client(user, recorded, client)
    return recorded, succeeded


LIMIT_NAMES = {
    throttle.ACCOUNT: "account limit",
    throttle.CLIENT: "account limit of one known browser and IP",
    throttle.IP: "IP limit",
}
LOCK_OUTCOMES = {
    throttle.ACCOUNT: signins.ACCOUNT_LOCKED,
    throttle.CLIENT: signins.CLIENT_LOCKED,
    throttle.IP: signins.IP_LOCKED,
}


def limit_words(kind):
    """Return which limit a lock of ``kind`` is, with its numbers ("account limit, 5 failures
    in 15 min")."""
    config = current_app.config
    count = config["LOCK_IP_LIMIT"] if kind == throttle.IP else config["LOCK_ACCOUNT_LIMIT"]
    window = config["LOCK_WINDOW"]
    span = f"{window // 60} min" if window % 60 == 0 else f"{window} s"
    return f"{LIMIT_NAMES[kind]}, {count} failure{'s' if count != 1 else ''} in {span}"


def record_lock(typed, email, user, kind, until, tier, client):
    """Record a lock of an account name, a known browser or an IP as its own row, saying
    which limit it was; tell the account's owner, with an unlock link."""
    minutes = max(1, round((until - utcnow()).total_seconds() / 60))
    detail = (
        f"{limit_words(kind)}: locked for {minutes} min (lock {tier}), "
        f"until {until:%Y-%m-%d %H:%M:%S} UTC"
    )
    signins.record_sign_in_attempt(typed, user, LOCK_OUTCOMES[kind], client, detail=detail)
    if user is not None and user.is_active:  # a link for anyone else would only answer 404
        notify_lock(user, email, until, client, one_browser=kind == throttle.CLIENT)


def lift_locks_by_link(email, user, client):
    """Lift the account's lock and this browser's own after a sign-in through an unlock
    link; record the unlock when there was one."""
    lifted = [
        throttle.unlock(key)
        for key in (throttle.account_key(email), throttle.client_key(email, client.pair))
    ]
    if any(lifted):
        signins.record_sign_in_attempt(
            email,
            user,
            signins.UNLOCKED,
            client,
            detail=f"account {email} unlocked by {user.name} with the emailed link",
        )


@bp.route("/login/unlock/<token>", methods=["GET", "POST"])
def unlock(token):
    """The page of a mailed unlock link: ask for the password, then lift the lock and sign in.

    A used, expired or unknown link gets one answer, 404, whichever it is. A GET changes
    nothing (mail scanners open links); the link is spent only by a sign-in through it.
    """
    link = unlocks.find(token)
    user = find_user_by_id(link.user_id) if link else None
    if user is None or not user.is_active:
        abort(404, LINK_GONE)
    if request.method == "GET":
        return unlock_page(link, user)
    password = request.form.get("password", "")
    client = current_client()
    if not password:
        with database.atomic():
            signins.record_sign_in_attempt(link.name, user, signins.INVALID_FORM, client)
        return unlock_page(link, user, "Enter your password.", 400)
    try:
        verdict = check_limits(link.name, link.name, user, client, link=link)
    except LinkUsedUp:
        abort(404, LINK_GONE)
    if verdict.refused:
        wait_as_long_as_a_check()
        return unlock_page(link, user, failure_message(verdict), 401, verdict)
    outcome = authenticate(user, password)
    _recorded, succeeded = record_outcome(link.name, user, outcome, verdict, client, link=link)
    if not succeeded:
        message = LINK_WRONG_PASSWORD if outcome == signins.WRONG_PASSWORD else LINK_GONE
        return unlock_page(link, user, message, 401, verdict)
    response = start_signed_in(user, "")
    flash("Your account is unlocked, and you are signed in.")  # after the session's rotation
    return response


def find_user_by_id(user_id):
    """Return the user with ``user_id`` (and their role), or None."""
    return User.select(User, Role).join(Role).where(User.id == user_id).first()


def unlock_page(link, user, error=None, status=200, verdict=None):
    """Render the unlock link's page; keep the token out of Referer headers and caches."""
    response = make_response(
        render_template("auth/unlock.html", link=link, user=user, error=error), status
    )
    if verdict is not None:
        response.headers["Retry-After"] = str(verdict.retry_after)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out on POST (closing this session on the server); on GET, ask first."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    if current_user.is_authenticated:
        row = sessions.UserSession.get_or_none(sessions.UserSession.id == current_user.session_id)
        if row is not None:
            sessions.end_session(row, "signed_out")
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def sign_out_user_everywhere(user_id, detail):
    """Move the user's session generation on and close every session they hold."""
    with database.atomic():
        changed = (
            User.update(session_generation=User.session_generation + 1)
            .where(User.id == user_id)
            .execute()
        )
        sessions.end_all_sessions(user_id, "revoked", detail)
    return bool(changed)


@bp.post("/profile/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """Revoke every session of the current user, on every device, this one included."""
    sign_out_user_everywhere(current_user.id, "signed out everywhere")
    logout_user()
    session.clear()
    flash("You are signed out on every device.")
    return redirect(url_for("auth.login"))


@bp.post("/profile/sessions/<int:session_id>/end")
@login_required
def end_one_session(session_id):
    """End one of the current user's sessions (another device's, or this one)."""
    row = sessions.UserSession.get_or_none(
        (sessions.UserSession.id == session_id) & (sessions.UserSession.user_id == current_user.id)
    )
    if row is None or row.ended_at is not None:
        abort(404, "session: there is no open session of yours with that number.")
    sessions.end_session(row, "revoked", "ended from the profile")
    if session_id == current_user.session_id:
        logout_user()
        session.clear()
        flash("You are signed out.")
        return redirect(url_for("auth.login"))
    flash("That session is ended.")
    # Back to the page the button was on (the profile or the Security page).
    return redirect(
        safe_next(request.form["next"]) if request.form.get("next") else url_for("auth.profile")
    )


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show the viewer's profile and sessions, and let them choose their time zone."""
    zones = sorted(time_zone_names())
    if request.method == "POST":
        zone = request.form.get("time_zone", "")
        if not is_time_zone(zone):
            abort(400, f"time_zone: {zone!r} is not a known time zone, e.g. Europe/Paris.")
        User.update(time_zone=zone).where(User.id == current_user.id).execute()
        flash(f"Times are now shown in {zone}.")
        return redirect(url_for("auth.profile"))
    live = sessions.active_sessions(current_user)
    return render_template("auth/profile.html", zones=zones, sessions=live)


@bp.route("/profile/density", methods=["POST"])
@login_required
def density():
    """Remember how the viewer's lists draw rows (``DENSITIES``). From the page's switch
    (htmx) the answer is empty, the page changes in place; without JavaScript it goes back to
    ``next``."""
    chosen = request.form.get("density", "")
    if chosen not in DENSITIES:
        abort(400, f"density: {chosen!r} is not one of {', '.join(DENSITIES)}.")
    User.update(density=chosen).where(User.id == current_user.id).execute()
    if request.headers.get("HX-Request"):
        return "", 204
    return redirect(safe_next(request.form.get("next", "")))


def init_app(app):
    """Install flask-login and the sign-in routes on ``app``."""
    login_manager.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(importlib.import_module("core.auth.security").bp)
