"""Evaluating follows and built-ins: what is new for each person, under their own visibility.

Every round (``evaluate_all``, each minute from the task queue) runs in a fresh app context,
so nothing cached on ``flask.g`` (``visible_tabs``, row scopes) outlives it. For each rule:

1. the person is read again (still there, active, a Staff Member; for a built-in, still of
   the owner or admin kind) and the tab must be in ``visible_tabs`` of theirs; else their
   cursor moves to the horizon: nothing from that moment, and no flood of the past if they
   regain it;
2. the query is read by the tab's own ``FilterSet`` for them (a query now refused is skipped,
   the cursor moved on likewise);
3. new records are read through ``core.listing.follow.read_after``, the tab's one query
   function, window after window until caught up: a mail never lists a row its reader could
   not open;
4. the cursor's move and the mail (``core.notifications.notify``: an outbox row) commit in one
   transaction, the move conditional on the cursor read: two evaluators never both queue it,
   and a crash queues nothing twice. Delivery is then the outbox's (at least once, retried).
"""

import logging
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from urllib.parse import urlencode

import peewee
from flask import current_app
from werkzeug.datastructures import MultiDict

from core.db import database
from core.db import utcnow
from core.listing.follow import read_after
from core.listing.follow import start_cursor
from core.listing.saved import SavedSearch
from core.notifications import Notification
from core.notifications import notify
from core.people import User
from core.tabs import get_tab
from core.tabs import visible_tabs
from plugins.alerts import builtins
from plugins.alerts.describe import describe_records
from plugins.alerts.describe import public_url
from plugins.alerts.models import DAILY
from plugins.alerts.models import OFF
from plugins.alerts.models import AlertRule
from plugins.alerts.rules import ensure_builtin
from plugins.alerts.schedule import DIGESTS
from plugins.alerts.schedule import next_due
from plugins.alerts.tokens import unsubscribe_url

log = logging.getLogger(__name__)

LISTED = 50  # records listed in one mail; the rest are counted ("and 12 more")
MAX_WINDOWS = 500  # windows read per rule and round (500,000 ids); the rest next round


@dataclass
class Found:
    """What one rule found: the records to list (``(row, data)``), how many matched in all,
    and the cursor after them."""

    listed: list = field(default_factory=list)
    total: int = 0
    cursor: int = 0


def evaluate_all(app=None, now=None):
    """Run one round over every rule that is not off, in a fresh app context (``app``: the
    current one's by default); return how many mails were queued. A rule that fails is
    logged and the round goes on."""
    app = app or current_app._get_current_object()
    now = now or utcnow()
    with app.app_context():
        remove_orphans()
        start_builtins()
        queued = 0
        rules = list(AlertRule.select().where(AlertRule.mode != OFF).order_by(AlertRule.id))
        # Each person once per round, not once per rule (an admin has a rule per built-in).
        people = {u.id: u for u in User.select().where(User.id.in_({r.user_id for r in rules}))}
        for rule in rules:
            try:
                queued += evaluate_rule(rule, now, people)
            except Exception:
                log.exception("alert rule %s could not be evaluated", rule.id)
        return queued


def start_builtins():
    """Give every owner and admin a row, from now, for each built-in they have none of yet
    (read first: a round writes nothing when everyone has theirs)."""
    have = set(
        AlertRule.select(AlertRule.user_id, AlertRule.builtin)
        .where(AlertRule.builtin.is_null(False))
        .tuples()
    )
    for recipient in builtins.recipients():
        for builtin in builtins.BUILTINS:
            if (recipient.id, builtin.key) not in have:
                ensure_builtin(recipient, builtin)


def remove_orphans():
    """Remove the follows whose saved search is gone (deleted by its owner): they stop."""
    alive = SavedSearch.select(SavedSearch.id).where(
        (SavedSearch.id == AlertRule.search_id) & (SavedSearch.user_id == AlertRule.user_id)
    )
    return (
        AlertRule.delete()
        .where(AlertRule.search_id.is_null(False) & ~peewee.fn.EXISTS(alive))
        .execute()
    )


def evaluate_rule(rule, now=None, people=None):
    """Evaluate one rule (an ``AlertRule``) as its owner sees the tab now; queue at most one
    mail. Return 1 if a mail was queued, else 0. ``people``: the round's users by id, read
    once (by default the rule's person is read here)."""
    now = now or utcnow()
    tab = get_tab(rule.tab)
    feed = tab.feed if tab is not None else None
    if feed is None:
        return 0  # the tab's plugin is not installed (now): wait, nothing to read
    if people is None:
        people = {u.id: u for u in User.select().where(User.id == rule.user_id)}
    user = people.get(rule.user_id)
    builtin = builtins.BY_KEY.get(rule.builtin) if rule.builtin else None
    if user is None or (rule.builtin and builtin is None):
        AlertRule.delete().where(AlertRule.id == rule.id).execute()
        return 0
    saved = None
    if builtin is None:
        saved = SavedSearch.get_or_none(
            (SavedSearch.id == rule.search_id) & (SavedSearch.user_id == user.id)
        )
        if saved is None:  # the saved search was deleted: the follow stops
            AlertRule.delete().where(AlertRule.id == rule.id).execute()
            return 0
    if not may_read(user, tab, builtin):
        catch_up(rule, feed, user, now)
        return 0
    query = builtin.query if builtin else saved.query
    filters = feed.filters.read(MultiDict({"q": query}), user)
    if filters.refusal:
        catch_up(rule, feed, user, now)
        return 0
    if rule.mode in DIGESTS and rule.next_due is not None and rule.next_due > now:
        return 0
    found = collect(feed, user, filters, rule.cursor, builtin.predicate if builtin else None)
    send = found.total > 0
    if send and builtin is not None and builtin.threshold is not None:
        send = over_threshold(feed, user, filters, builtin, rule, now)
    mail = compose(rule, user, feed, query, saved, builtin, found, now) if send else None
    return advance(rule, user, found.cursor, now, mail)


def may_read(user, tab, builtin):
    """Tell whether ``user`` may still be told about ``tab``: active, a Staff Member seeing
    the tab now, and, for a built-in, of the owner or admin kind."""
    if not (user.is_active and user.is_staff):
        return False
    if builtin is not None and not user.is_admin:
        return False
    return tab in visible_tabs(user)


def catch_up(rule, feed, user, now):
    """Move ``rule``'s cursor to the tab's horizon without telling anyone (and a digest's
    due time past ``now`` on): what happened while its owner could not read it is never
    sent."""
    horizon = start_cursor(feed)
    # Forward only: a concurrent evaluation that moved further keeps its place.
    AlertRule.update(cursor=horizon).where(
        (AlertRule.id == rule.id) & (AlertRule.cursor < horizon)
    ).execute()
    if rule.mode in DIGESTS and (rule.next_due is None or rule.next_due <= now):
        due = next_due(rule.mode, user.zone(), now)
        AlertRule.update(next_due=due).where(AlertRule.id == rule.id).execute()


def collect(feed, user, filters, cursor, predicate=None):
    """Read what came after ``cursor`` for ``user`` under ``filters``, window after window,
    keeping the rows ``predicate(data)`` accepts (all without one); return a ``Found``."""
    found = Found(cursor=cursor)
    for _ in range(MAX_WINDOWS):
        rows, after = read_after(feed, user, filters, found.cursor)
        if rows:
            data = feed.records_data(user, rows)
            for row, values in zip(rows, data, strict=True):
                if predicate is not None and not predicate(values):
                    continue
                found.total += 1
                if len(found.listed) < LISTED:
                    found.listed.append((row, values))
        if after == found.cursor:
            break
        found.cursor = after
    return found


def over_threshold(feed, user, filters, builtin, rule, now):
    """Tell whether more than the built-in's threshold of matching records that ``user`` may
    see happened in its window (through the tab's query, narrowed by time), and no mail of it
    went to ``user`` within that window."""
    if rule.last_sent_at is not None and rule.last_sent_at > now - builtin.window:
        return False
    limit = int(builtin.threshold(current_app.config))
    column = getattr(feed.model, builtin.time_column)
    recent = feed.records(user, filters, columns=[feed.model.id], limit=limit + 1)
    return len(list(recent.where(column >= now - builtin.window))) > limit


def advance(rule, user, cursor, now, mail):
    """Move ``rule`` to ``cursor`` (its digest's next due time too) and queue ``mail`` (a
    ``Notification`` or None) in one transaction, only if the cursor is still the one this
    evaluation started from; return 1 if the mail was queued."""
    values = {"cursor": cursor}
    if rule.mode in DIGESTS:
        values["next_due"] = next_due(rule.mode, user.zone(), now)
    if mail is not None:
        values["last_sent_at"] = now
    with database.atomic():
        moved = (
            AlertRule.update(**values)
            .where(
                (AlertRule.id == rule.id)
                & (AlertRule.cursor == rule.cursor)
                & (AlertRule.mode == rule.mode)
            )
            .execute()
        )
        if moved != 1 or mail is None:
            return 0  # another evaluator moved it first (and queued the mail), or no mail
        notify(mail)
    return 1


def compose(rule, user, feed, query, saved, builtin, found, now):
    """Return the ``Notification`` telling ``user`` what ``found`` holds."""
    lines = describe_records(feed, user, found.listed)
    more = found.total - len(lines)
    search_url = public_url(f"/stream/{feed.name}?{urlencode({'q': query})}")
    count = f"{found.total} {feed.noun}{'' if found.total == 1 else 's'}"
    if builtin is not None:
        kind, title = f"alert.{builtin.key}", builtin.label
        subject = f"Alert: {builtin.label} ({count})"
        why = "you are an owner or admin of the platform (Settings > Alerts switches it off)"
    elif rule.mode in DIGESTS:
        period = "Daily" if rule.mode == DAILY else "Weekly"
        kind, title = "alert.digest", f"{period} digest of “{saved.name}”"
        subject = f"{period} digest: {count} for “{saved.name}”"
        why = f"you follow your saved search “{saved.name}” on the {feed.label} tab"
    else:
        kind, title = "alert.search", f"New for “{saved.name}”"
        subject = f"Alert: {count} for “{saved.name}” on {feed.label}"
        why = f"you follow your saved search “{saved.name}” on the {feed.label} tab"
    context = {
        "title": title,
        "count": count,
        "tab_label": feed.label,
        "query": query,
        "lines": lines,
        "more": more,
        "search_url": search_url,
        "why": why,
        "unsubscribe_url": unsubscribe_url(rule),
        "zone": str(user.zone()),
        "threshold": (
            int(builtin.threshold(current_app.config)) if builtin and builtin.threshold else None
        ),
        "window_minutes": int(builtin.window / timedelta(minutes=1)) if builtin else None,
    }
    return Notification(
        kind=kind, recipients=(user,), subject=subject, template="alerts/mail", context=context
    )
