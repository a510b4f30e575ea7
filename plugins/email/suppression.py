"""Suppressed addresses: no notification goes to an address that hard-bounced or complained.

``suppress`` is called by ``delivery.record`` for a hard bounce or a complaint; ``outbox.queue``
asks ``active_for`` about each recipient and writes a message to a suppressed address as
``suppressed`` (never sent, the reason on record), not silently dropped. An owner or admin
lifts a suppression on Manage People's page of the person (``lift``, a recorded activity);
the row stays, with who lifted it and when, and a new hard bounce suppresses the address again.
"""

from datetime import datetime
from typing import NamedTuple

from core.db import database
from core.db import utcnow
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.records import clip
from plugins.email.models import EmailSuppression

LIFTED = "email.suppression_lifted"
TABLE = EmailSuppression._meta.table_name


def normal_address(address):
    """Return ``address`` as suppressions store it (lower case, no spaces around)."""
    return (address or "").strip().lower()


def suppress(address, reason, report_id=None):
    """Suppress ``address`` (in the caller's transaction) unless it already is; return the
    suppression in force."""
    address = normal_address(address)
    current = active(address)
    if current is not None:
        return current
    return EmailSuppression.create(
        address=address, suppressed_at=utcnow(), reason=clip(reason, 500), report=report_id
    )


def active(address):
    """Return the suppression in force for ``address``, or None."""
    return (
        EmailSuppression.select()
        .where(
            (EmailSuppression.address == normal_address(address))
            & EmailSuppression.lifted_at.is_null()
        )
        .order_by(EmailSuppression.id)
        .first()
    )


class Held(NamedTuple):
    """A suppression in force, as ``active_for`` reads it."""

    id: int
    address: str
    suppressed_at: datetime
    reason: str


def active_for(addresses):
    """Return ``{address (lower case): Held}`` for those of ``addresses`` suppressed now, in one
    statement. Plain SQL: this runs inside every action that notifies, and compiling the query
    cost more than running it (twice the time of ``notify``); the addresses are parameters."""
    wanted = sorted({normal_address(a) for a in addresses if a})
    if not wanted:
        return {}
    marks = ", ".join([database.param] * len(wanted))
    cursor = database.execute_sql(
        f"SELECT id, address, suppressed_at, reason FROM {TABLE} "
        f"WHERE lifted_at IS NULL AND address IN ({marks}) ORDER BY id",
        wanted,
    )
    found = {}
    for row_id, address, suppressed_at, reason in cursor.fetchall():
        if isinstance(suppressed_at, str):  # SQLite hands back text from plain queries
            suppressed_at = datetime.fromisoformat(suppressed_at)
        found.setdefault(address, Held(row_id, address, suppressed_at, reason))
    return found


def last_lifted(address):
    """Return the latest lifted suppression of ``address`` (it bounced before), or None."""
    return (
        EmailSuppression.select()
        .where(
            (EmailSuppression.address == normal_address(address))
            & EmailSuppression.lifted_at.is_null(False)
        )
        .order_by(EmailSuppression.id.desc())
        .first()
    )


def outcome(row):
    """Return the outcome a message to a suppressed address is written with."""
    return clip(
        f"not sent: address suppressed after {row.reason} on {row.suppressed_at:%Y-%m-%d} "
        "(an owner or admin may lift it on Manage People)",
        500,
    )


def lift(viewer, row, person):
    """Lift suppression ``row`` (of ``person``'s address) as ``viewer``, and record it on the
    Activity tab (``email.suppression_lifted``), in one transaction. Returns the event."""
    with database.atomic():
        EmailSuppression.update(lifted_at=utcnow(), lifted_by=viewer.id).where(
            (EmailSuppression.address == row.address) & EmailSuppression.lifted_at.is_null()
        ).execute()
        return record_activity(
            viewer,
            LIFTED,
            Ref("user", person.id, person.name),
            audience=Audience(users={person.id}),
            summary=clip(f"{row.address}: {row.reason}", 500),
        )


def person_section(viewer, person):
    """Return Manage People's card of ``person``'s email delivery for ``viewer`` (an owner or
    admin; anyone else gets nothing): their address suppressed, with the form lifting it, or
    its last suppression lifted; None when their address never bounced."""
    from flask import render_template
    from markupsafe import Markup

    from core.people import User
    from core.templating import local_time

    if not getattr(viewer, "is_admin", False) or not person.email:
        return None
    held = active(person.email)
    lifted = None if held is not None else last_lifted(person.email)
    if held is None and lifted is None:
        return None
    zone = viewer.zone()
    shown = held or lifted
    by = User.get_or_none(User.id == lifted.lifted_by) if lifted and lifted.lifted_by else None
    return Markup(
        render_template(
            "email/person_section.html",
            held=held,
            lifted=lifted,
            since=local_time(shown.suppressed_at, zone=zone),
            lifted_on=local_time(lifted.lifted_at, zone=zone) if lifted else None,
            lifted_by=by.name if by else None,
        )
    )
