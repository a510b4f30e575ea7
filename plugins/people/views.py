"""The Manage Teams and Manage People pages, for the owner and admin kinds only.

``bp`` (``/teams`` and ``/people``) is closed by default: signed-out visitors are sent to sign
in, anyone but the Super Admin and Admins gets 403, before any page runs, for every page and
fragment alike. ``team_views`` and ``person_views`` hold the pages; each is a real form that
htmx boosts, and the member checkboxes save themselves like the Settings ones. The one-time
password links live on ``link_views``, a public blueprint of their own.
"""

from flask import Blueprint
from flask import current_app
from flask import request
from flask_login import current_user
from markupsafe import escape

from core.forms import answer_refusals
from core.forms import whole_error_page
from plugins.people import person_views
from plugins.people import team_views
from plugins.people.checks import Denied

bp = Blueprint("people", __name__, template_folder="templates")
for pages in (team_views, person_views):
    bp.register_blueprint(pages.bp)


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
    return whole_error_page(code, message, title)


answer_refusals(bp, "people", Denied, error_page)
