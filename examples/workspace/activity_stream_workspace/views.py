"""The workspace blueprint: the sign-in gate and whole-page errors around the pages of
``company_views``, ``task_views`` and ``document_views``, each a blueprint of its own nested
here (endpoints ``workspace.<module blueprint>.<view>``).

Each page is a real ``<form method=post>`` that htmx boosts when it can. Every page renders
whole, so a boosted request and a plain one get the same answer.
"""

import logging

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from activity_stream_workspace import company_views
from activity_stream_workspace import document_views
from activity_stream_workspace import message_views
from activity_stream_workspace import task_views
from activity_stream_workspace.access import Denied
from activity_stream_workspace.checks import ValidationError
from core.events import RecordError
from core.security import ERROR_TITLES

log = logging.getLogger(__name__)

bp = Blueprint("workspace", __name__, template_folder="templates")
for pages in (company_views, task_views, document_views, message_views):
    bp.register_blueprint(pages.bp)

NOT_RECORDED = (
    "Your change was not saved: it could not be written to the activity log, so nothing was "
    "changed. Please try again in a moment."
)


@bp.before_request
def require_sign_in():
    """Send signed-out visitors to sign in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


@bp.get("/")
def home():
    """Open the workspace on its task list."""
    return redirect(url_for("workspace.tasks.tasks"))


@bp.after_request
def keep_history_clean(response):
    """Keep a boosted POST's URL out of the history unless it redirected to a page."""
    if request.method == "POST" and request.htmx:
        response.headers["HX-Push-Url"] = "false"
    return response


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
