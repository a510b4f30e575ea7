"""Request hardening: CSRF, security headers, secure cookies, and error pages in the shell."""

import hmac
import secrets

from flask import abort
from flask import current_app
from flask import render_template
from flask import request
from flask import session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import RequestEntityTooLarge

from core.shell import is_stream_request

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked ``Secure`` whenever the request came over https."""

    def get_cookie_secure(self, app):
        """Return True for https requests (and when configured so), False otherwise."""
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def csrf_token():
    """Return this session's CSRF token, creating it on first use."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def rotate_csrf_token():
    """Replace the CSRF token (at sign-in, so a token seen before it is worthless)."""
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def csrf_exempt(app, prefix):
    """Leave URLs starting with ``prefix`` out of the CSRF check: only for routes that never
    act on the session cookie (an API authenticated by a token a browser does not send by
    itself). A URL there that no route matches stays a 404 or 405, as anywhere."""
    app.extensions.setdefault("csrf_exempt", []).append(prefix)


def render_errors_under(app, prefix, render):
    """Answer every error of a URL starting with ``prefix`` with ``render(error)`` instead of
    the site's HTML pages (an API's JSON), a URL no route matches included."""
    app.extensions.setdefault("error_renderers", []).append((prefix, render))


def check_csrf():
    """Refuse a state-changing request whose CSRF token is missing or wrong (400)."""
    if request.method not in UNSAFE_METHODS:
        return
    if request.path.startswith(tuple(current_app.extensions.get("csrf_exempt", ()))):
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, "This form has expired or did not come from this site. Reload and try again.")


def reject_nul_bytes():
    """Refuse a request carrying a NUL character anywhere (PostgreSQL cannot store one),
    naming the field (or ``path``) that holds it."""
    sources = [request.args] + ([request.form] if request.method in UNSAFE_METHODS else [])
    named = [("path", [request.path])]
    named += [(key, [key, *source.getlist(key)]) for source in sources for key in source]
    for name, texts in named:
        if any("\x00" in text for text in texts):
            shown = name.replace("\x00", "\ufffd")[:40]
            abort(400, f"{shown}: holds a NUL character, which no field may hold.")


def add_security_headers(response):
    """Set the security headers every response carries, and no-store on stream responses."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    # The same URL answers with a page or a fragment depending on HX-Request.
    response.vary.add("HX-Request")
    # Nothing a signed-in person sees may stay in a shared or back-button cache (a document's
    # access code, another viewer's stream). Decided from the session cookie: asking for the
    # current user here would load (and check) it for every static file too.
    signed_in = "_user_id" in session
    if signed_in or is_stream_request() or request.path.startswith("/api/"):
        headers["Cache-Control"] = "no-store"
    return response


TOO_LARGE = "The form or upload is larger than this site accepts (1 MB of text at most)."

ERROR_TITLES = {
    400: "That could not be done",
    401: "Please sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    413: "That is too large",
    500: "Something went wrong on our side",
}


def render_error(error):
    """Render an HTTP error in plain words: in the shell for pages, as a panel for htmx."""
    for prefix, render in current_app.extensions.get("error_renderers", ()):
        if request.path.startswith(prefix):
            return render(error)
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    code = error.code or 500
    title = ERROR_TITLES.get(code, error.name)
    message = (
        error.description
        if code != 500
        else ("The error has been logged. Please try again in a moment.")
    )
    template = "error_panel.html" if request.htmx else "error.html"
    return render_template(template, code=code, title=title, message=message), code


def init_app(app):
    """Install CSRF checks, headers, the session interface and the error pages on ``app``."""
    app.session_interface = SessionInterface()
    app.before_request(reject_nul_bytes)
    app.before_request(check_csrf)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OverflowError, _render_out_of_range)
    # Before any blueprint's catch-all: the body is refused before a view reads it.
    app.register_error_handler(413, lambda error: render_error(RequestEntityTooLarge(TOO_LARGE)))
    app.register_error_handler(Exception, _render_unexpected)


def _render_out_of_range(error):
    # A number too large for the database (an id in a URL, say): the request is at fault.
    return render_error(BadRequest("A number in the request is out of range."))


def _render_unexpected(error):
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError())
