"""Sign-in, sign-out, sessions and the profile page.

The session cookie names the user *and* their session generation; bumping the generation
(sign out everywhere, password change) makes every cookie issued before it worthless.
"""

import zoneinfo
from urllib.parse import urlsplit

from flask import Blueprint
from flask import abort
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

from core import signins
from core.people import Role
from core.people import User
from core.security import rotate_csrf_token

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
# Flask-Login's own session protection would log users out on an IP change (mobile networks);
# the session generation counter is what revokes cookies here.
login_manager.session_protection = None

# Checked when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")

FAILURE_MESSAGE = "That email and password do not match an account that may sign in."


@login_manager.user_loader
def load_user(identity):
    """Return the user for a session identity ``"<id>:<generation>"``, or None if revoked."""
    user_id, _, generation = str(identity).partition(":")
    if not user_id.isdigit():
        return None
    user = User.select(User, Role).join(Role).where(User.id == int(user_id)).first()
    if user is None or str(user.session_generation) != generation or not user.is_active:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Send a signed-out viewer to sign in; for htmx, redirect the whole page, never a panel."""
    if request.htmx:
        current = urlsplit(request.headers.get("HX-Current-URL", "")).path or request.path
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


def authenticate(email, password):
    """Return ``(user, outcome)`` for a sign-in attempt (a ``core.signins`` outcome)."""
    user = User.select(User, Role).join(Role).where(User.email == email).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None, signins.UNKNOWN_USER
    if not user.check_password(password):
        return user, signins.WRONG_PASSWORD
    if not user.role.can_sign_in:
        return user, signins.NOT_ALLOWED
    if not user.active:
        return user, signins.INACTIVE
    return user, signins.SIGNED_IN


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form, or check it, record the attempt and start a fresh session."""
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    if not email or not password:
        signins.record_sign_in_attempt(email, None, signins.INVALID_FORM)
        return render_template(
            "auth/login.html",
            error="Enter your email and password.",
            email=email,
            next=request.form.get("next", ""),
        ), 400
    user, outcome = authenticate(email, password)
    signins.record_sign_in_attempt(email, user, outcome)
    if outcome != signins.SIGNED_IN:
        return render_template(
            "auth/login.html",
            error=FAILURE_MESSAGE,
            email=email,
            next=request.form.get("next", ""),
        ), 401
    # Rotate the session: nothing from before sign-in (a planted cookie) survives it.
    session.clear()
    login_user(user)
    rotate_csrf_token()
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out on POST; on GET, ask first (a link must not sign anyone out)."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    logout_user()
    session.clear()
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.post("/profile/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """Revoke every session of the current user, on every device, this one included."""
    User.update(session_generation=User.session_generation + 1).where(
        User.id == current_user.id
    ).execute()
    logout_user()
    session.clear()
    flash("You are signed out on every device.")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    """Show the viewer's profile and let them choose their time zone."""
    zones = sorted(zoneinfo.available_timezones())
    if request.method == "POST":
        zone = request.form.get("time_zone", "")
        if zone not in zones:
            abort(400, f"time_zone: {zone!r} is not a known time zone, e.g. Europe/Paris.")
        User.update(time_zone=zone).where(User.id == current_user.id).execute()
        flash(f"Times are now shown in {zone}.")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", zones=zones)


def init_app(app):
    """Install flask-login and the sign-in routes on ``app``."""
    login_manager.init_app(app)
    app.register_blueprint(bp)
