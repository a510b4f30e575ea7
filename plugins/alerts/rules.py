"""Changing what a person follows: a saved search's mode, a built-in on or off.

Every follow and every built-in switched on starts from now (``start_cursor``): nobody is
mailed about the past. A follow is removed when switched off (its saved search keeps no
trace); a built-in switched off keeps its row, marked off, since built-ins are on by default.
"""

import peewee

from core.db import database
from core.db import utcnow
from core.listing.follow import start_cursor
from core.listing.saved import SavedSearch
from core.tabs import get_tab
from plugins.alerts.builtins import BY_KEY
from plugins.alerts.models import INSTANT
from plugins.alerts.models import MODE_LABELS
from plugins.alerts.models import OFF
from plugins.alerts.models import AlertRule
from plugins.alerts.schedule import next_due


def feed_of(tab_name):
    """Return the ``Feed`` of ``tab_name``, or None (not installed, or not a list tab)."""
    tab = get_tab(tab_name)
    return tab.feed if tab is not None else None


def follow_of(search_id):
    """Return the follow of saved search ``search_id``, or None."""
    return AlertRule.get_or_none(AlertRule.search_id == search_id)


def set_follow(user, saved, mode, now=None):
    """Follow ``saved`` (one of ``user``'s saved searches) in ``mode``; ``off`` removes the
    follow. Return the follow, or None when off. A new follow starts from now; changing the
    mode keeps the follow's place (what is pending goes out in the new mode)."""
    now = now or utcnow()
    if mode == OFF:
        AlertRule.delete().where(AlertRule.search_id == saved.id).execute()
        return None
    due = next_due(mode, user.zone(), now)
    existing = follow_of(saved.id)
    if existing is None:
        try:
            with database.atomic():
                return AlertRule.create(
                    user_id=user.id,
                    search_id=saved.id,
                    tab=saved.tab,
                    mode=mode,
                    cursor=start_cursor(feed_of(saved.tab)),
                    next_due=due,
                )
        except peewee.IntegrityError:  # followed meanwhile (two tabs, a double click)
            existing = follow_of(saved.id)
    if existing.mode != mode:
        AlertRule.update(mode=mode, next_due=due).where(AlertRule.id == existing.id).execute()
    return follow_of(saved.id)


def builtin_rule(user_id, key):
    """Return ``user_id``'s row of built-in ``key``, or None (never evaluated yet: on)."""
    return AlertRule.get_or_none((AlertRule.user_id == user_id) & (AlertRule.builtin == key))


def ensure_builtin(user, builtin):
    """Make sure ``user`` has a row for ``builtin`` (on, from now); an existing one stays."""
    feed = feed_of(builtin.tab)
    if feed is None:
        return
    AlertRule.insert(
        user_id=user.id,
        builtin=builtin.key,
        tab=builtin.tab,
        mode=INSTANT,
        cursor=start_cursor(feed),
    ).on_conflict_ignore().execute()


def set_builtin(user, key, enabled):
    """Switch built-in ``key`` on or off for ``user``; switched on, it starts from now."""
    builtin = BY_KEY[key]
    ensure_builtin(user, builtin)
    rule = builtin_rule(user.id, key)
    if rule is None:  # its tab is not installed
        return
    wanted = INSTANT if enabled else OFF
    if rule.mode == wanted:
        return
    values = {"mode": wanted}
    if enabled:
        values["cursor"] = max(rule.cursor, start_cursor(feed_of(builtin.tab)))
    AlertRule.update(**values).where(AlertRule.id == rule.id).execute()


def builtin_enabled(user_id):
    """Return ``{key: on?}`` of every built-in for ``user_id`` (on unless switched off)."""
    rows = AlertRule.select(AlertRule.builtin, AlertRule.mode).where(
        (AlertRule.user_id == user_id) & AlertRule.builtin.is_null(False)
    )
    off = {row.builtin for row in rows if row.mode == OFF}
    return {key: key not in off for key in BY_KEY}


def follows_of(user_id):
    """Return ``user_id``'s follows with their saved searches: ``[(rule, saved)]`` by tab and
    name."""
    query = (
        AlertRule.select(AlertRule, SavedSearch)
        .join(SavedSearch, on=(SavedSearch.id == AlertRule.search_id))
        .where((AlertRule.user_id == user_id) & (SavedSearch.user_id == user_id))
        .order_by(SavedSearch.tab, SavedSearch.name)
    )
    return [(rule, rule.savedsearch) for rule in query]


def modes_of(user_id):
    """Return ``{saved search id: mode}`` of ``user_id``'s follows (one query)."""
    query = AlertRule.select(AlertRule.search_id, AlertRule.mode).where(
        (AlertRule.user_id == user_id) & AlertRule.search_id.is_null(False)
    )
    return {row.search_id: row.mode for row in query}


def what_it_is(rule):
    """Return what ``rule`` is, as its owner reads it: "the saved search “Locks” on the
    Logins tab (daily digest)", or "the built-in alert “An API token was created”"."""
    if rule.builtin:
        builtin = BY_KEY.get(rule.builtin)
        return f"the built-in alert “{builtin.label if builtin else rule.builtin}”"
    saved = SavedSearch.get_or_none(SavedSearch.id == rule.search_id)
    tab = get_tab(rule.tab)
    name = saved.name if saved else "a saved search"
    label = tab.label if tab else rule.tab
    return f"the saved search “{name}” on the {label} tab ({MODE_LABELS[rule.mode].lower()})"


def turn_off(rule):
    """Stop ``rule``: a follow is removed, a built-in is marked off."""
    if rule.builtin:
        AlertRule.update(mode=OFF).where(AlertRule.id == rule.id).execute()
    else:
        AlertRule.delete().where(AlertRule.id == rule.id).execute()
