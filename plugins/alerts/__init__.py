"""Alerts and digests: a saved search followed by mail, at once or daily or weekly, and the
owner's and admins' built-in alerts (docs/alerts.md).

- ``models``: the one table (a follow, or a person's state of a built-in);
- ``builtins``: the built-in alerts, declared once; ``rules``: following and switching;
- ``evaluate``: the minute's round, under each person's own visibility; ``describe``: the
  mail's lines; ``schedule``: when digests are due; ``tasks``: the periodic task;
- ``views``: the follow control and Settings > Alerts; ``unsubscribe`` and ``tokens``: the
  signed link that stops a mail without signing in.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from core.security import csrf_exempt
from plugins.alerts import models
from plugins.alerts import tasks
from plugins.alerts import unsubscribe
from plugins.alerts import views


@hookimpl
def register_models():
    """Return the alerts' table."""
    return list(models.MODELS)


@hookimpl
def register_migrations():
    """Create the alerts' table."""
    return [Migration("alerts.0001_rules", create_tables(*models.MODELS))]


@hookimpl
def register_tasks(huey, app):
    """Register the minute's evaluation round."""
    tasks.register(huey, app)


@hookimpl
def register_blueprints(app):
    """Return the follow route (under ``/stream/<tab>``: the gate checks that tab), the
    Settings section's actions (gated as Settings) and the public unsubscribe page."""
    return [
        views.follow_bp,
        (views.settings_bp, {"part_of_tab": "settings"}),
        unsubscribe.bp,
    ]


@hookimpl
def settings_sections(viewer):
    """Add the Alerts section to Settings."""
    return views.sections(viewer)


@hookimpl
def startup(app):
    """Let the follow control's template read the follows, and exempt the unsubscribe POST
    from the CSRF check: it has no session, its signed token is the proof."""
    app.jinja_env.globals.update(views.template_globals())
    csrf_exempt(app, unsubscribe.PREFIX)
