"""The API's blueprint, mounted at ``/api/v1``: its gate, its errors, and who is asking.

The other routes are attached by their modules (``ingest``, ``read``, ``openapi``) when the
module is imported, each behind the gate.
"""

from flask import Blueprint
from flask import g
from flask import jsonify
from flask_login import current_user

from core.security import csrf_exempt
from core.security import render_errors_under
from core.tabs import visible_tabs
from plugins.api import ingest
from plugins.api import openapi
from plugins.api import read
from plugins.api.gate import authenticate
from plugins.api.problems import as_problem

PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=PREFIX, template_folder="templates")
bp.before_request(authenticate)


@bp.get("/")
def index():
    """Answer who the token acts as, its scope, and the tabs it may read."""
    token = g.api_token
    return jsonify(
        {
            "person": {"id": current_user.id, "name": current_user.name},
            "token": {"id": token.id, "name": token.name, "scope": token.scope},
            "tabs": [tab.name for tab in visible_tabs(current_user)],
        }
    )


def init_app(app):
    """Set ``app`` up for the API, whose blueprint the plugin's ``register_blueprints`` returns.
    It authenticates by token, so the session's CSRF check does not apply (a browser never
    sends a bearer token by itself); any error under its prefix, a URL that matches no route
    included, answers as a problem, not as the site's HTML page."""
    csrf_exempt(app, PREFIX + "/")
    render_errors_under(app, PREFIX + "/", as_problem)
    _refuse_shadowed_tabs(app)


def _refuse_shadowed_tabs(app):
    # ``/api/v1/<tab>`` sits beside the API's own words: a tab named ``docs`` would never be
    # read. Stop at start-up, naming it, rather than serve a tab the API cannot reach.
    own = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            first = rule.rule.removeprefix(PREFIX).strip("/").split("/")[0]
            if first and not first.startswith("<"):
                own.add(first)
    taken = sorted(own & set(app.extensions.get("tabs", {})))
    if taken:
        raise RuntimeError(f"tab names taken by the API's own URLs: {', '.join(taken)}")


# Once, when this module is imported: a blueprint takes no new route after its first app.
for _module in (ingest, read, openapi):
    _module.attach(bp)
