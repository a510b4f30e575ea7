"""Timelines: one per person and one per object, merging the tabs the viewer sees in time order
(an object's events and the messages naming it; a person's events, messages and sign-ins).

``sources`` says which tab lists what for a subject (each through the tab's own ``Feed``),
``merge`` merges their pages and keeps the next page's cursor, ``views`` serves
``/stream/timeline/person/<id>`` and ``/stream/timeline/<type>/<id>`` as part of the Activity
tab (docs/timeline.md).
"""

from core import hookimpl
from plugins.timeline import views


@hookimpl
def register_blueprints(app):
    """Serve the timelines under /stream, behind the stream gate as part of the Activity tab."""
    return [(views.bp, {"part_of_tab": views.GATE_TAB})]


@hookimpl
def startup(app):
    """Let any template link a timeline: ``timeline_url(type, id)`` (None when the viewer may
    not open it)."""
    app.add_template_global(views.timeline_url, "timeline_url")
