"""Activity: every action on the platform, recorded in the transaction of the change.

``models`` holds the tables, ``recorder`` writes them (the only way), ``changes`` captures
field-level changes, ``queries`` reads them scoped to the viewer, ``describe`` phrases rows,
``views`` serves the tab and its fragments, ``demo`` seeds a realistic history.
"""

from core import hookimpl
from core.migrations import Migration
from core.tabs import Tab
from plugins.activity import views
from plugins.activity.models import MODELS
from plugins.activity.models import add_actor_verb_index
from plugins.activity.models import create_activity_tables
from plugins.activity.models import drop_audience_foreign_key
from plugins.activity.recorder import Audience
from plugins.activity.recorder import Ref
from plugins.activity.recorder import record_activity

__all__ = ["Audience", "Ref", "record_activity"]


@hookimpl
def register_models():
    """Return the activity tables."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Create the activity tables."""
    return [
        Migration("activity.0001_events", create_activity_tables),
        Migration("activity.0002_actor_verb_index", add_actor_verb_index),
        Migration("activity.0003_audience_without_foreign_key", drop_audience_foreign_key),
    ]


@hookimpl
def register_tabs():
    """Add the Activity tab, first in the bar."""
    return [Tab("activity", "Activity", 10, views.activity_panel, views.bp)]


@hookimpl
def seed_demo():
    """Add a realistic activity history when there is none."""
    from plugins.activity.demo import seed_history

    seed_history()
