"""Logins: the tab that reads the sign-in log (``core.auth.signins``): every attempt, session end,
lock and unlock, scoped to the viewer, with Unlock for owners and admins.

``filters`` reads the tab's filters from the URL, ``queries`` reads the log scoped to the
viewer, ``views`` configures the feed (``core.listing.feed``) that serves the panel and its
fragments, ``unlock`` lifts a lock, ``demo`` seeds a month of history through the recorder.
Recording is core's (``core.auth.views``): turning this tab off loses no attempt.
"""

from core import hookimpl
from plugins.logins import unlock
from plugins.logins import views
from plugins.logins import words
from plugins.logins.queries import MIGRATIONS as SEARCH_MIGRATIONS
from plugins.logins.unlock import UNLOCKED_EVENT

# Unlock, a route of the tab's own, joins its feed's blueprint once, at import: a blueprint
# takes no new route after its first app.
unlock.attach(views.FEED)


@hookimpl
def register_migrations():
    """Add the full-text index of the sign-in log this tab searches (docs/search.md)."""
    return list(SEARCH_MIGRATIONS)


@hookimpl
def register_tabs():
    """Add the Logins tab, after Activity and Email."""
    return [views.FEED.tab(label="Logins", order=30)]


@hookimpl
def describe_event(event, viewer):
    """Phrase an unlock on the Activity tab as its summary says it: "Avery Chen lifted the lock
    of IP 203.0.113.7" (not "unlocked Ip “203.0.113.7”", the default's reading of its type)."""
    if event.verb != UNLOCKED_EVENT or not event.summary:
        return None
    return words.unlock_sentence(event)


@hookimpl
def notification_kinds():
    """Name the kinds of the sign-in log's notices in words (``words.KIND_LABELS``), for a list
    of mail: "New browser or country", not "Login new client"."""
    return dict(words.KIND_LABELS)


@hookimpl
def seed_demo():
    """Add a month of sign-in history when there is none."""
    from plugins.logins.demo import seed_history

    seed_history()
