"""The Manage Teams and Manage People pages, for the owner and admin kinds only.

``bp`` (``/teams`` and ``/people``) is closed by default: signed-out visitors are sent to sign
in, anyone but the Super Admin and Admins gets 403, before any page runs, for every page and
fragment alike. ``team_views`` and ``person_views`` hold the pages; each is a real form that
htmx boosts, and the member checkboxes save themselves like the Settings ones. The one-time
password links live on ``link_views``, a public blueprint of their own.
"""

import logging

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import request
from flask_login import current_user
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from core.events import RecordError
from core.security import ERROR_TITLES
from plugins.people import person_views
from plugins.people import team_views
from plugins.people.checks import Denied
from plugins.people.checks import Invalid

log = logging.getLogger(__name__)

bp = Blueprint("people", __name__, template_folder="templates")
for pages in (team_views, person_views):
    bp.register_blueprint(pages.bp)

NOT_RECORDED = (
    "Your change was not saved: it could not be written to the activity log, so nothing was "
    "changed. Please try again in a moment."
)


@bp.before_request
def only_managers():
    """Let only the Super Admin and Admins through; send signed-out visitors to sign in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        return error_page(403, "Only the Super Admin and Admins manage people and teams.")
    return None


@bp.after_request
def keep_history_clean(response):
    """Keep a boosted POST's URL out of the history unless it redirected to a page."""
    if request.method == "POST" and request.htmx:
        response.headers["HX-Push-Url"] = "false"
    return response


def error_page(code, message, title=None):
    """Answer an error: a whole page, or a one-line alert for a control's own request (a
    member checkbox puts itself back and shows the alert in the status line)."""
    if request.htmx and not request.htmx.boosted:
        return f'<p class="alert" role="alert">{escape(message)}</p>', code
    title = title or ERROR_TITLES.get(code, "Something went wrong")
    return render_template("error.html", code=code, title=title, message=message), code


@bp.errorhandler(HTTPException)
def http_error(error):
    """Show 4xx/5xx raised in a page as a whole page (or an alert for a control)."""
    return error_page(error.code or 500, error.description)


@bp.errorhandler(Denied)
def denied(error):
    """A forbidden action is a 403 that says what was refused."""
    return error_page(403, str(error))


@bp.errorhandler(Invalid)
def invalid(error):
    """Bad input outside a form page is a 400 naming the field."""
    return error_page(400, str(error))


@bp.errorhandler(RecordError)
def not_recorded(error):
    """The change rolled back with its record: say so plainly (503), log the cause."""
    log.error("people change on %s %s not recorded: %s", request.method, request.path, error)
    return error_page(503, NOT_RECORDED, title="Your change was not saved")
