"""Activity: the tab that reads the event store (``core.events``), every action on the platform.

``filters`` declares the tab's filters, ``queries`` reads events scoped to the viewer,
``describe`` phrases rows, ``changeset`` shows what changed (each field as the platform
declares it through ``describe_fields``: ``fields``; long texts word by word: ``wording``),
``views`` configures the feed (``core.listing.feed``) that serves the panel and its
fragments. Its demo history is the workspace's: real actions, recorded as
they happen.
"""

from core import hookimpl
from plugins.activity import fields
from plugins.activity import groups
from plugins.activity import index
from plugins.activity import views


@hookimpl
def register_migrations():
    """Add the full-text index of the event store."""
    return list(index.MIGRATIONS)


@hookimpl
def register_tabs():
    """Add the Activity tab, first in the bar."""
    return [views.FEED.tab(label="Activity", order=10)]


@hookimpl
def startup(app):
    """Collect once how the platform's fields read (``describe_fields``); a malformed
    declaration stops start-up, naming it. Give the rows template its grouping."""
    fields.collect(app)
    app.add_template_global(groups.in_groups, "activity_groups")
