"""The app factory."""

import uuid
from pathlib import Path

from flask import Blueprint
from flask import Flask
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from werkzeug.middleware.proxy_fix import ProxyFix

from core import cli
from core import db
from core import htmx
from core import queue
from core import security
from core import shell
from core.auth import views as auth
from core.config import load_config
from core.inputs import REQUEST_ID
from core.inputs import IdConverter
from core.plugins import PluginError
from core.plugins import call_at_startup
from core.plugins import make_plugin_manager
from core.tabs import collect_tabs
from core.tabs import visible_tabs
from core.templating import init_templating

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None, plugins=()):
    """Build the app: settings, database, plugins, queue, auth, shell, then plugin blueprints.

    ``config`` overrides settings (tests); ``plugins`` are extra plugin objects to register.
    """
    config = dict(config or {})
    app = Flask(
        "activity_stream",
        root_path=str(ROOT),
        instance_path=config.pop("INSTANCE_PATH", None) or str(ROOT / "instance"),
        template_folder="templates",
        static_folder="static",
    )
    # Ids in URLs are ASCII digits only, before any blueprint adds a rule.
    app.url_map.converters["int"] = IdConverter
    load_config(app, config)
    if app.config["TRUSTED_PROXIES"]:
        count = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    htmx.init_app(app)
    db.init_app(app)
    app.before_request(assign_request_id)
    disabled = {name.strip() for name in app.config["PLUGINS_DISABLED"].split(",") if name}
    app.extensions["plugin_manager"] = make_plugin_manager(plugins, disabled)
    queue.init_app(app)
    auth.init_app(app)
    # The stream gate runs before the CSRF check, so a signed-out POST is sent to sign in.
    app.before_request(shell.guard_stream)
    security.init_app(app)
    init_templating(app)
    app.register_blueprint(shell.bp)
    app.add_url_rule("/", "home", home)
    register_plugin_blueprints(app)
    collect_tabs(app)
    cli.init_app(app)
    call_at_startup(app, "startup", app=app)
    return app


def register_plugin_blueprints(app):
    """Register the blueprints every plugin's ``register_blueprints`` returns: a blueprint, or
    a ``(blueprint, options)`` pair whose options go to ``Flask.register_blueprint``."""
    for answer in call_at_startup(app, "register_blueprints", app=app):
        for item in answer:
            blueprint, options = item if isinstance(item, tuple) else (item, {})
            if not isinstance(blueprint, Blueprint):
                raise PluginError(f"register_blueprints returned {item!r}, not a blueprint")
            options = dict(options)
            part_of = options.pop("part_of_tab", None)
            if part_of is not None:  # gated as that tab (core.shell.tab_for_blueprint)
                app.extensions.setdefault("blueprint_tabs", {})[blueprint.name] = part_of
            try:
                app.register_blueprint(blueprint, **options)
            except Exception as error:
                # A clash of names or routes: say which blueprint, as start-up errors name theirs.
                message = f"blueprint {blueprint.name!r} could not be registered: {error}"
                raise PluginError(message) from error


def assign_request_id():
    """Give the request an id (the proxy's ``X-Request-ID`` when sane) for logs and records."""
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if REQUEST_ID.match(sent) else uuid.uuid4().hex


@login_required
def home():
    """Send the viewer to the stream when they may see it, else to their profile."""
    if visible_tabs(current_user):
        return redirect(url_for("stream.index"))
    return redirect(url_for("auth.profile"))
