"""Integrity in Settings: the state of the seals, "Seal now" and "Verify integrity".

Sealing and verification are core's (``core.evidence``); this plugin shows them to the owner
and admins, who alone see Settings. A verification from here is recorded, with its outcome,
so an auditor can see who checked the record and what they found. A verification runs on the
task queue (``runs``), its progress shown while it runs.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from plugins.integrity import runs
from plugins.integrity import views


@hookimpl
def register_models():
    """Return the verification runs' table."""
    return list(runs.MODELS)


@hookimpl
def register_migrations():
    """Create the verification runs' table."""
    return [Migration("integrity.0001_verify_runs", create_tables(*runs.MODELS))]


@hookimpl
def register_tasks(huey, app):
    """Register the verification task and the sweep of interrupted runs."""
    runs.register(huey, app)


@hookimpl
def register_blueprints(app):
    """Return the section's actions (``/stream/settings/integrity``), gated as Settings."""
    return [(views.bp, {"part_of_tab": "settings"})]


@hookimpl
def settings_sections(viewer):
    """Add the Integrity section to Settings."""
    return views.sections(viewer)
