"""The workspace blueprint: the sign-in gate, shared view helpers and whole-page errors.

The routes live in ``company_views``, ``task_views`` and ``document_views``; each page is a
real ``<form method=post>`` that htmx boosts when it can. Every page renders whole, so a
boosted request and a plain one get the same answer.
"""

import logging

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from core.security import ERROR_TITLES
from plugins.activity.recorder import RecordError
from plugins.workspace.access import Denied
from plugins.workspace.checks import ValidationError

log = logging.getLogger(__name__)

bp = Blueprint("workspace", __name__, template_folder="templates")

NOT_RECORDED = (
    "Your change was not saved: it could not be written to the activity log, so nothing was "
    "changed. Please try again in a moment."
)


def blueprint():
    """Return the workspace blueprint with every route attached."""
    from plugins.workspace import company_views  # noqa: F401
    from plugins.workspace import document_views  # noqa: F401
    from plugins.workspace import task_views  # noqa: F401

    return bp


def actor():
    """Return the signed-in user (the real object, not the proxy) for the service layer."""
    return current_user._get_current_object()


@bp.before_request
def require_sign_in():
    """Send signed-out visitors to sign in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.get("/")
def home():
    """Open the workspace on its task list."""
    return redirect(url_for("workspace.tasks"))


@bp.after_request
def keep_history_clean(response):
    """Keep a boosted POST's URL out of the history unless it redirected to a page."""
    if request.method == "POST" and request.htmx:
        response.headers["HX-Push-Url"] = "false"
    return response


def visible_or_404(query, model, object_id, kind):
    """Return the object ``object_id`` of the visibility ``query``, else 404."""
    found = query.where(model.id == object_id).first()
    if found is None:
        abort(404, f"There is no such {kind}, or it is not shared with you.")
    return found


def render_form(template, error=None, **context):
    """Render a form page; with ``error``, show it and answer 400."""
    html = render_template(template, error=error, **context)
    return (html, 400) if error else html


def error_page(code, message, title=None):
    """Render a whole error page (whole, so a boosted request swaps in a full page)."""
    title = title or ERROR_TITLES.get(code, "Something went wrong")
    return render_template("error.html", code=code, title=title, message=message), code


@bp.errorhandler(HTTPException)
def http_error(error):
    """Show 4xx/5xx raised in a workspace view as a whole page."""
    return error_page(error.code or 500, error.description)


@bp.errorhandler(Denied)
def denied(error):
    """A forbidden action is a 403 that says what was refused."""
    return error_page(403, str(error))


@bp.errorhandler(ValidationError)
def invalid(error):
    """Bad input outside a form page is a 400 naming the field."""
    return error_page(400, str(error))


@bp.errorhandler(RecordError)
def not_recorded(error):
    """The change rolled back with its record: say so plainly (503), log the cause."""
    log.error("workspace change on %s %s not recorded: %s", request.method, request.path, error)
    return error_page(503, NOT_RECORDED, title="Your change was not saved")
