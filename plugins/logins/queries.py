"""Reading the Logins tab: the viewer's scope and the filters in SQL, newest first.

``visible_attempts`` is the one place deciding which rows of the sign-in log a viewer may see;
the feed's panel, rows fragment, detail view, counts and "N new" banner all start from it.
Scope ``all``: every row. Scope ``related``: the viewer's own rows and those of the members
of the viewer's teams; rows of names that matched no account only ever show to ``all``.
"""

from core.auth.signins import SignInAttempt
from core.listing.sql import ListColumns
from core.listing.sql import bounded
from core.listing.sql import distinct_values
from core.listing.sql import newest_ids
from core.listing.sql import newest_of
from core.migrations import Migration
from core.tabs import row_scope
from plugins.logins.filters import FILTERS

TAB = "logins"
INDEX = FILTERS.words
# For the plugin's ``register_migrations``; until it returns them, free words are a scan.
MIGRATIONS = [Migration("logins.0001_full_text", INDEX.create)]
# Every column but the raw user agent (parsed into browser, OS and device), read when opened.
LIST = ListColumns(SignInAttempt, exclude=("user_agent",))


def visible_attempts(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the query of the rows ``viewer`` may see under ``filters``, newest first.

    For the ``related`` scope, an unfiltered page reads each related user's rows newest first
    and capped (one short index range scan per person) instead of sorting all their rows.
    """
    attempt = SignInAttempt
    query = bounded(attempt.select(*(columns or [LIST.select])), attempt.id, older_than, newer_than)
    query = FILTERS.where(query, filters, viewer)
    # The free words drive the query from the full-text index, newest match first.
    query, order = INDEX.search(query, attempt.id, filters.words, older_than, newer_than)
    if row_scope(viewer, TAB) != "all":
        users = viewer.related_user_ids()
        if filters.active() or not limit:
            query = query.where(attempt.user_id.in_(users))
        else:

            def arm(user_id):
                query = attempt.select(attempt.id).where(attempt.user_id == user_id)
                return newest_ids(query, attempt.id, older_than, newer_than, limit)

            query = query.where(newest_of(attempt.id, (arm, users)))
    query = query.order_by(order.desc())
    return query.limit(limit) if limit else query


def countries():
    """Return the distinct countries recorded, by a few index seeks (no full scan)."""
    return distinct_values(SignInAttempt, "country")
