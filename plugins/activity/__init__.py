"""Activity: the tab that reads the event store (``core.events``), every action on the platform.

``filters`` reads the tab's filters from the URL, ``queries`` reads events scoped to the viewer,
``describe`` phrases rows, ``views`` configures the feed (``core.feed``) that serves the panel
and its fragments. Its demo history is the workspace's: real actions, recorded as they happen.
"""

from core import hookimpl
from plugins.activity import views


@hookimpl
def register_tabs():
    """Add the Activity tab, first in the bar."""
    return [views.FEED.tab(label="Activity", order=10)]
