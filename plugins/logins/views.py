"""The Logins tab on the list machinery (``core.listing``): rows, filter choices, detail, unlock.

Every route the feed serves starts from ``queries.visible_attempts``; so does Unlock, which
acts only on a lock row the viewer may see.
"""

from urllib.parse import quote

from flask import Blueprint
from flask import url_for

from core.auth.clients import country_name
from core.auth.clients import pair_of
from core.auth.clients import readable_os
from core.auth.signins import ACCOUNT_LOCKED
from core.auth.signins import CLIENT_LOCKED
from core.auth.signins import IP_LOCKED
from core.auth.signins import LOCKS
from core.auth.signins import OUTCOMES
from core.auth.signins import SIGNED_IN
from core.auth.signins import SignInAttempt
from core.auth.signins import flag_labels
from core.auth.throttle import SignInThrottle
from core.auth.throttle import account_key
from core.auth.throttle import client_key
from core.auth.throttle import ip_key
from core.db import utcnow
from core.listing.feed import Feed
from core.listing.feed import iso_utc
from core.people import User
from core.people import initials
from core.retention import Prune
from core.tabs import visible_tabs
from core.templating import local_time
from core.templating import relative_time
from plugins.logins import queries
from plugins.logins.filters import FILTERS
from plugins.logins.words import readable_detail

bp = Blueprint(queries.TAB, __name__, template_folder="templates")

# outcome: (label, badge style)
OUTCOME_BADGES = {
    "signed_in": ("Signed in", "ok"),
    "wrong_password": ("Wrong password", "fail"),
    "unknown_user": ("Unknown user", "fail"),
    "locked": ("Refused: locked", "lock"),
    "inactive": ("Inactive account", "fail"),
    "not_allowed": ("Not allowed to sign in", "fail"),
    "invalid_form": ("Incomplete form", "fail"),
    "signed_out": ("Signed out", "session"),
    "session_expired": ("Session expired", "session"),
    "session_revoked": ("Session revoked", "session"),
    "account_locked": ("Account locked", "lock"),
    "ip_locked": ("IP locked", "lock"),
    "unlocked": ("Unlocked", "ok"),
    "client_locked": ("Account locked for one browser", "lock"),
}
assert set(OUTCOME_BADGES) == set(OUTCOMES)

# Which limit a lock row is about, as its row says it, and what its Unlock button lifts.
LIMITS = {
    ACCOUNT_LOCKED: ("Account limit", "Unlock account"),
    CLIENT_LOCKED: ("Account limit of one known browser", "Unlock browser"),
    IP_LOCKED: ("IP limit", "Unlock IP"),
}


def lock_key(row, user_agent=None):
    """Return the throttle key a lock row is about: its name as normalised, that name from
    the row's browser-and-IP pair (``user_agent``: the row's raw agent, which the list does
    not read), or its IP."""
    name = row.name_typed.strip().lower()
    if row.outcome == ACCOUNT_LOCKED:
        return account_key(name)
    if row.outcome == CLIENT_LOCKED:
        return client_key(name, pair_of(row.ip, user_agent))
    return ip_key(row.ip)


def locks_in_force(rows):
    """Return the ids of ``rows``' lock rows whose lock still holds (one query, and one more
    for the agents of rows locking one browser)."""
    locks = [row for row in rows if row.outcome in LOCKS]
    ids = [row.id for row in locks if row.outcome == CLIENT_LOCKED]
    agents = {}
    if ids:
        query = SignInAttempt.select(SignInAttempt.id, SignInAttempt.user_agent)
        agents = dict(query.where(SignInAttempt.id.in_(ids)).tuples())
    keys = {row.id: lock_key(row, agents.get(row.id)) for row in locks}
    if not keys:
        return set()
    query = SignInThrottle.select(SignInThrottle.key).where(
        SignInThrottle.key.in_(set(keys.values())) & (SignInThrottle.locked_until > utcnow())
    )
    held = {row.key for row in query}
    return {row_id for row_id, key in keys.items() if key in held}


def prepare_rows(viewer, rows):
    """Return what ``logins/rows.html`` prints for each of ``rows`` (one pass, two queries;
    a third when a lock of one browser is among them)."""
    ids = {row.user_id for row in rows if row.user_id}
    names = dict(User.select(User.id, User.name).where(User.id.in_(ids)).tuples()) if ids else {}
    locked = locks_in_force(rows) if viewer.is_admin else set()
    zone, now = viewer.zone(), utcnow()
    base = url_for("stream.tab", tab=queries.TAB)
    # A sign-in links to what its session did, for a viewer who reads the Activity tab
    # (which shows them only the actions they may see there).
    activity = url_for("stream.tab", tab="activity") if _sees_activity(viewer) else None
    prepared = []
    for row in rows:
        who = names.get(row.user_id) or row.name_typed or "(no name)"
        label, style = OUTCOME_BADGES[row.outcome]
        history = f"user={row.user_id}" if row.user_id else f"q={quote(row.name_typed)}"
        limit, unlock_label = LIMITS.get(row.outcome, (None, None))
        prepared.append(
            {
                "row": row,
                "who": who,
                "initials": initials(who),
                "local": local_time(row.attempted_at, zone=zone),
                "relative": relative_time(row.attempted_at, now=now),
                "badge": label,
                "style": style,
                "browser": browser_words(row),
                "detail": readable_detail(row.detail, zone),
                "flags": flag_labels(row.flags),
                "detail_url": f"{base}/{row.id}",
                "history_url": f"{base}?{history}" if row.name_typed or row.user_id else None,
                "limit": limit,
                "unlock_url": f"{base}/{row.id}/unlock" if row.id in locked else None,
                "unlock_label": unlock_label,
                "actions_url": (
                    f"{activity}?session={row.session_id}"
                    if activity and row.session_id and row.outcome == SIGNED_IN
                    else None
                ),
            }
        )
    return prepared


def _sees_activity(viewer):
    """Tell whether ``viewer`` sees the Activity tab (it may be disabled, or not granted)."""
    return any(tab.name == "activity" for tab in visible_tabs(viewer))


def browser_words(row):
    """Return "Safari 17 on macOS 14" for a row (what is known of it), the system named as
    people name it today whatever the row recorded (``readable_os``)."""
    return " on ".join(part for part in (row.browser, readable_os(row.os)) if part)


def filter_options(viewer):
    """Return the filter bar's choices: people, outcomes, recorded countries."""
    return {
        "users": [(u.id, u.name) for u in User.select(User.id, User.name).order_by(User.name)],
        "outcomes": [
            ("failed", "Any failure"),
            *((outcome, OUTCOME_BADGES[outcome][0]) for outcome in OUTCOMES),
        ],
        "countries": [
            (code, f"{country_name(code)} ({code})" if country_name(code) else code)
            for code in queries.countries()
        ],
    }


def detail_context(viewer, record):
    """Return what ``logins/detail.html`` shows of one row beyond the list."""
    user = User.get_or_none(User.id == record.user_id) if record.user_id else None
    zone = viewer.zone()
    return {
        "user": user,
        "badge": OUTCOME_BADGES[record.outcome][0],
        "flags": flag_labels(record.flags),
        "when": local_time(record.attempted_at, fmt="%Y-%m-%d %H:%M:%S.%f %Z", zone=zone),
        "os": readable_os(record.os),
        "detail": readable_detail(record.detail, zone),
    }


def as_data(viewer, rows):
    """Return ``rows`` as plain dicts for the API and exports, as ``viewer`` reads them on the
    tab: the person by their name of today, the outcome and flags in words, the system as
    people name it, the detail phrased (its times in UTC, as every time of the data), the
    limit a lock row is about. Whether a lock still holds is the owner's and admins' to know
    (only they may lift it: their rows carry Unlock), so ``lock_in_force`` is theirs alone. A
    full record (read by ``FEED.get``) adds the raw user agent and the account's email, as
    its detail view shows them."""
    ids = {row.user_id for row in rows if row.user_id}
    people = User.select(User.id, User.name, User.email).where(User.id.in_(ids)) if ids else []
    accounts = {user.id: user for user in people}
    locked = locks_in_force(rows) if viewer.is_admin else None
    return [_attempt_data(row, accounts.get(row.user_id), locked) for row in rows]


def _attempt_data(row, user, locked):
    full = isinstance(row, SignInAttempt)
    account = None
    if row.user_id:
        account = {"id": row.user_id, "name": user.name if user else None}
        if full:
            account["email"] = user.email if user else None
    data = {
        "id": row.id,
        "attempted_at": iso_utc(row.attempted_at),
        "outcome": row.outcome,
        "outcome_label": OUTCOME_BADGES[row.outcome][0],
        "name_typed": row.name_typed,
        "user": account,
        "ip": row.ip,
        "country": row.country,
        "browser": row.browser,
        "os": readable_os(row.os),
        "device": row.device,
        "flags": flag_labels(row.flags),
        "failures_before": row.failures_before,
        "session_id": row.session_id,
        "detail": readable_detail(row.detail),
        "limit": LIMITS.get(row.outcome, (None,))[0],
    }
    if locked is not None and row.outcome in LOCKS:
        data["lock_in_force"] = row.id in locked
    if full:
        data["user_agent"] = row.user_agent
    return data


EMPTY = "No sign-in attempts yet. Every attempt through the sign-in form shows up here."
FEED = Feed(
    name=queries.TAB,
    label="Logins",
    noun="sign-in record",
    model=SignInAttempt,
    records=queries.visible_attempts,
    read=queries.LIST.read,
    filters=FILTERS,
    prepare_rows=prepare_rows,
    options=filter_options,
    detail_context=detail_context,
    as_data=as_data,
    empty_text=EMPTY,
    blueprint=bp,
    # Nothing goes with an attempt: the clients a person signed in from (``SeenClient``) and
    # the locks (``SignInThrottle``) are the sign-in's memory, not records of the list.
    prune=Prune(time=SignInAttempt.attempted_at),
)
