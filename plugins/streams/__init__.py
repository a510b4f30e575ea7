"""Log streams: every new record of the tabs chosen, as it happens, POSTed to a destination's
URL as signed JSON, in order and at least once (docs/streams.md).

``models`` holds the destinations, each one's place in every tab and its delivery log;
``destinations`` the rules for adding one (Settings and ``flask streams`` share them);
``delivery`` sends a destination its records; ``tasks`` keeps sending on the task queue;
each request is signed by ``core.signing``; ``views`` is the Settings section; ``commands``
is ``flask streams add|list|remove``.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from plugins.streams import commands
from plugins.streams import tasks
from plugins.streams import views
from plugins.streams.models import MODELS


@hookimpl
def register_models():
    """Return the log streams' tables."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Create the log streams' tables."""
    return [Migration("streams.0001_destinations", create_tables(*MODELS))]


@hookimpl
def register_tasks(huey, app):
    """Register the sending loop and its watchdog."""
    tasks.register(huey, app)


@hookimpl
def register_blueprints(app):
    """Return the section's actions (``/stream/settings/streams``), gated as Settings."""
    return [(views.bp, {"part_of_tab": "settings"})]


@hookimpl
def register_commands(cli):
    """Add ``flask streams``."""
    commands.register(cli)


@hookimpl
def settings_sections(viewer):
    """Add the Log streams section to Settings."""
    return views.sections(viewer)
