"""Retention in Settings: how long each list tab keeps its records (``core.retention``).

The owner and admins choose, per list tab, forever or a number of days; the section shows
what the next prune would remove. The prune itself is core's (hourly, ``flask stream prune``):
leaving this plugin out hides the section, and the choices already made still apply.
"""

from core import hookimpl
from plugins.retention import views


@hookimpl
def register_blueprints(app):
    """Return the section's actions (``/stream/settings/retention``, gated as Settings)."""
    return [(views.bp, {"part_of_tab": "settings"})]


@hookimpl
def settings_sections(viewer):
    """Add the Retention section to Settings."""
    return views.sections(viewer)
