"""Integrity in Settings: the state of the seals, "Seal now" and "Verify integrity".

Sealing and verification are core's (``core.evidence``); this plugin shows them to the owner
and admins, who alone see Settings. A verification from here is recorded, with its outcome,
so an auditor can see who checked the record and what they found.
"""

from core import hookimpl
from plugins.integrity import views


@hookimpl
def register_blueprints(app):
    """Return the section's actions (``/stream/settings/integrity``), gated as Settings."""
    return [(views.bp, {"part_of_tab": "settings"})]


@hookimpl
def settings_sections(viewer):
    """Add the Integrity section to Settings."""
    return views.sections(viewer)
