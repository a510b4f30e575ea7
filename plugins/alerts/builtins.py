"""The built-in alerts of the owner and admins, each declared once.

A built-in is evaluated exactly like a followed search (``evaluate``): its ``query`` is read
by the tab's own search language for each recipient, under their own visibility, and what the
language cannot say is the ``predicate`` over a row's data (``Feed.records_data``). A
``threshold`` counts the matching records the recipient may see in the last ``window`` and
mails only above it, at most once per ``window``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from core.people import ADMIN
from core.people import OWNER
from core.people import Role
from core.people import User


@dataclass(frozen=True)
class Builtin:
    """One built-in alert: ``key`` (stored, in links), ``label`` (what the person reads),
    ``tab``, ``query`` in that tab's search language, an optional ``predicate(data)`` over a
    row's data dict, an optional ``threshold(config)`` with its ``window`` and the column the
    window bounds (``time_column``)."""

    key: str
    label: str
    tab: str
    query: str
    predicate: Callable = None
    threshold: Callable = None
    window: timedelta = timedelta(hours=1)
    time_column: str = None


def _is_admin_account(user_id):
    """Tell whether ``user_id`` is an account of the owner or admin kind (one query)."""
    if not user_id:
        return False
    query = (
        User.select(User.id).join(Role).where((User.id == user_id) & Role.kind.in_((OWNER, ADMIN)))
    )
    return query.exists()


def _admin_account(data):
    """A Logins row about an owner's or admin's account."""
    return _is_admin_account((data.get("user") or {}).get("id"))


def _new_country_of_admin(data):
    """A sign-in of an owner or admin flagged "new country" (``core.auth.signins.NEW_COUNTRY``;
    the Logins data names the flags in words)."""
    return "new country" in (data.get("flags") or ()) and _admin_account(data)


def _tampering_found(data):
    """A verification whose outcome was "tampering found" (``plugins.integrity.runs``' summary
    ends with the outcome; the search language has no qualifier for it)."""
    return (data.get("summary") or "").endswith("tampering found")


BUILTINS = (
    Builtin(
        key="admin_locked",
        label="An owner's or admin's account was locked",
        tab="logins",
        query="outcome:account_locked outcome:client_locked",
        predicate=_admin_account,
    ),
    Builtin(
        key="ip_locks",
        label="Many IP addresses locked in an hour",
        tab="logins",
        query="outcome:ip_locked",
        threshold=lambda config: config.get("ALERT_IP_LOCKS_PER_HOUR", 10),
        time_column="attempted_at",
    ),
    Builtin(
        key="new_country",
        label="An owner or admin signed in from a new country",
        tab="logins",
        query="outcome:signed_in",
        predicate=_new_country_of_admin,
    ),
    Builtin(
        key="api_token_created",
        label="An API token was created",
        tab="activity",
        query="verb:api_token.created",
    ),
    Builtin(
        key="integrity_failed",
        label="An integrity verification found tampering",
        tab="activity",
        query="verb:integrity.verified",
        predicate=_tampering_found,
    ),
)
BY_KEY = {builtin.key: builtin for builtin in BUILTINS}


def recipients():
    """Return the active users of the owner and admin kinds: who the built-ins are for."""
    query = User.select(User).join(Role).where(Role.kind.in_((OWNER, ADMIN)) & User.active)
    return list(query.order_by(User.id))
