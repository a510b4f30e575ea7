"""The workspace blueprint: the sign-in gate and whole-page errors around the pages of
``company_views``, ``task_views`` and ``document_views``, each a blueprint of its own nested
here (endpoints ``workspace.<module blueprint>.<view>``).

Each page is a real ``<form method=post>`` that htmx boosts when it can. Every page renders
whole, so a boosted request and a plain one get the same answer.
"""

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from activity_stream_workspace import company_views
from activity_stream_workspace import document_views
from activity_stream_workspace import message_views
from activity_stream_workspace import task_views
from activity_stream_workspace.access import Denied
from core.forms import answer_refusals

bp = Blueprint("workspace", __name__, template_folder="templates")
for pages in (company_views, task_views, document_views, message_views):
    bp.register_blueprint(pages.bp)

answer_refusals(bp, "workspace", Denied)


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
