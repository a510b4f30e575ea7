"""Saved searches: a search a person named on one tab, listed under the tab's search box.

The table is core's (migration ``feed.0001_saved_searches``, the name it shipped under), so
every list tab has saved searches whatever plugins are installed.
"""

import peewee
from flask_login import current_user

from core.db import BaseModel
from core.db import utcnow
from core.search.language import MAX_QUERY

SAVED_SEARCHES_PER_TAB = 30


class SavedSearch(BaseModel):
    """A search a user named, on one tab: theirs alone (every query says ``user_id``)."""

    id = peewee.AutoField()
    user_id = peewee.IntegerField()
    tab = peewee.CharField(max_length=32)
    name = peewee.CharField(max_length=80)
    query = peewee.CharField(max_length=MAX_QUERY)
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "saved_search"
        indexes = ((("user_id", "tab", "name"), True),)


def saved_searches(viewer, tab):
    """Return ``viewer``'s saved searches of ``tab``, by name: only to ``viewer`` themself (a
    panel previewed for someone else lists none of theirs)."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    if getattr(current_user, "id", None) != viewer.id:
        return []
    query = SavedSearch.select(SavedSearch.id, SavedSearch.name, SavedSearch.query).where(
        (SavedSearch.user_id == viewer.id) & (SavedSearch.tab == tab)
    )
    return list(query.order_by(SavedSearch.name))
