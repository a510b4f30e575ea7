"""Restore: undo a change of fields or a deletion from its Activity record.

A plugin owning a kind of object restores its records through two hooks: ``restore_plan``
(what a restore would bring back, or why it cannot: ``plans.Refused``) and ``restore`` (do it,
in the caller's transaction). This plugin holds what they answer with (``plans``), the route
``POST /stream/activity/<id>/restore`` (``views``: who may, in one transaction), the records
of restores (``records``: ``<type>.restored``, linked to the record undone) and the Restore
button in a record's Details (``actions``, through ``record_actions``). docs/restore.md.
"""

from core import hookimpl
from plugins.restore import actions
from plugins.restore import views


@hookimpl
def register_blueprints(app):
    """Serve Restore under /stream/activity, behind the stream gate as part of that tab."""
    return [(views.bp, {"part_of_tab": views.GATE_TAB})]


@hookimpl
def record_actions(viewer, event):
    """Offer Restore on a restorable record to the owner and admins; link a restore to the
    record it undid."""
    return actions.record_actions(viewer, event)
