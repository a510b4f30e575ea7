"""Activity: the tab that reads the event store (``core.events``), every action on the platform.

``filters`` reads the tab's filters from the URL, ``queries`` reads events scoped to the viewer,
``describe`` phrases rows, ``views`` configures the feed (``core.feed``) that serves the panel
and its fragments. Its demo history is the workspace's: real actions, recorded as they happen.
"""

from core import hookimpl
from core.feed import create_saved_searches
from core.migrations import Migration
from plugins.activity import index
from plugins.activity import views


@hookimpl
def register_migrations():
    """Add the full-text index of the event store, and the saved searches of every tab.

    The saved searches' table is the list machinery's (``core.feed``), registered here because
    core's own migrations are not this plugin's to extend; without it, no tab lists any.
    """
    return [
        *index.MIGRATIONS,
        Migration("feed.0001_saved_searches", create_saved_searches),
    ]


@hookimpl
def register_tabs():
    """Add the Activity tab, first in the bar."""
    return [views.FEED.tab(label="Activity", order=10)]
