"""Pseudonymise a person: their name, email, IP addresses and user agents replaced everywhere
the platform's records hold them, by a stable pseudonym ("Person 7f3a"), and the seals still
verify (``core.evidence.replace`` notes each sealed value replaced by its keyed hash only).

The order makes a failure safe to retry: the account is deactivated first (no new records),
then the records are rewritten in batches of ``BATCH`` records, each batch its own short
transaction (writers wait for a batch, never for the whole), and the account itself is renamed
last, with the act recorded. Until then the person's real name is still on the account, so
running it again finds what is left.

What is replaced: in the events, the person's own name as actor (with the IP address and user
agent of their requests) and as the object or target of an event about them, and their name
or email wherever else it is written (labels, summaries, changes, metadata); in the sign-in
log, what they typed, the IP address and user agent of their attempts; their sessions' IP
addresses; and whatever the plugins keep (``pseudonymise_person``: the Email tab's messages to
and from them).
"""

import hashlib
import hmac
import re
import secrets

from flask import current_app
from peewee import fn

from core.auth import sessions
from core.auth.sessions import UserSession
from core.auth.signins import SignInAttempt
from core.db import database
from core.events import ActivityEvent
from core.events import record_activity
from core.evidence.replace import replace_values
from core.plugins import hooks
from plugins.people import checks
from plugins.people.accounts import _leave_the_stream
from plugins.people.accounts import _locked
from plugins.people.accounts import ref
from plugins.people.checks import PSEUDONYM_DOMAIN
from plugins.people.checks import Invalid

BATCH = 500
TEXT_COLUMNS = ("object_label", "target_label", "summary", "changes", "metadata")


def pseudonym_of(user):
    """Return ``(name, email)`` standing for ``user`` from now on: stable (the same person
    always gets the same), and telling nothing of who they were."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    mark = hmac.new(secret, f"pseudonym|{user.id}".encode(), hashlib.sha256).hexdigest()[:4]
    return f"Person {mark}", f"person-{user.id}@{PSEUDONYM_DOMAIN}"


def is_pseudonymised(user):
    """Tell whether ``user`` was pseudonymised already."""
    return user.email.endswith(f"@{PSEUDONYM_DOMAIN}")


def text_replacer(name, email, new_name, new_email):
    """Return ``replace(text)``: ``text`` with every ``name`` and ``email`` (any case) made
    ``new_name`` and ``new_email``; None stays None."""
    pattern = re.compile(
        "|".join(re.escape(value) for value in sorted({name, email}, key=len, reverse=True)),
        re.IGNORECASE,
    )

    def swap(found):
        return new_email if found.group(0).casefold() == email.casefold() else new_name

    def replace(text):
        return text if not isinstance(text, str) else pattern.sub(swap, text)

    return replace


def pseudonymise(actor, person):
    """Replace ``person``'s data by their pseudonym in every record, deactivate their account
    for good, and record the act; return how many records changed. Refused for the Super
    Admin, for oneself, and for someone pseudonymised already."""
    checks.require_manager(actor)
    if person.is_owner:
        raise Invalid("person", "the Super Admin cannot be pseudonymised")
    if person.id == actor.id:
        raise Invalid("person", "you cannot pseudonymise yourself; ask another admin")
    if is_pseudonymised(person):
        raise Invalid("person", "this person was pseudonymised already")
    _deactivate(person)
    new_name, new_email = pseudonym_of(person)
    replace = text_replacer(person.name, person.email, new_name, new_email)
    changed = _events(person, new_name, replace)
    changed += _sign_ins(person, new_email)
    with database.atomic():
        changed += replace_values(UserSession, {row.id: {"ip": None} for row in _sessions(person)})
    for count in hooks(current_app).pseudonymise_person(person=person, replace=replace):
        changed += count or 0
    with database.atomic():
        current = _locked(person)
        current.name, current.email = new_name, new_email
        current.set_password(secrets.token_urlsafe(32))  # no one knows it
        current.save()
        person.__data__.update(current.__data__)
        record_activity(
            actor,
            "user.pseudonymised",
            ref(current),
            changes={"records": [None, changed]},
            summary=f"name, email, addresses and user agents replaced in {changed:,} records",
        )
    return changed


def _deactivate(person):
    """Deactivate ``person`` and end their sessions (ended sessions are logged under their
    name, replaced next), and take them out of their teams and grants."""
    with database.atomic():
        current = _locked(person)
        if current.active:
            current.active = False
            current.session_generation += 1
            current.save()
        sessions.end_all_sessions(current.id, "revoked", "pseudonymised")
        _leave_the_stream(current)


def _events(person, new_name, replace):
    """Replace ``person`` in the events, ``BATCH`` at a time; return how many changed."""
    event = ActivityEvent
    me = str(person.id)
    mentions = None
    for column in ("actor_name", *TEXT_COLUMNS):
        field = getattr(event, column)
        found = field.contains(person.name) | field.contains(person.email)
        mentions = found if mentions is None else mentions | found
    about = (
        (event.actor_id == person.id)
        | ((event.object_type == "user") & (event.object_id == me))
        | ((event.target_type == "user") & (event.target_id == me))
        | mentions
    )
    ids = [row_id for (row_id,) in event.select(event.id).where(about).order_by(event.id).tuples()]
    changed = 0
    for start in range(0, len(ids), BATCH):
        with database.atomic():
            rows = event.select().where(event.id.in_(ids[start : start + BATCH]))
            new_values = {row.id: _event_values(row, person, new_name, replace) for row in rows}
            changed += replace_values(event, new_values)
    return changed


def _event_values(row, person, new_name, replace):
    """Return the new values of one event's personal columns."""
    values = {column: replace(getattr(row, column)) for column in TEXT_COLUMNS}
    if row.actor_id == person.id:
        values.update(actor_name=new_name, ip=None, user_agent=None)
    else:
        values["actor_name"] = replace(row.actor_name)
    if row.object_type == "user" and row.object_id == str(person.id):
        values["object_label"] = new_name
    if row.target_type == "user" and row.target_id == str(person.id):
        values["target_label"] = new_name
    return values


def _sign_ins(person, new_email):
    """Replace what ``person`` typed, and their addresses, in the sign-in log."""
    log = SignInAttempt
    theirs = (log.user_id == person.id) | (fn.LOWER(log.name_typed) == person.email.lower())
    ids = [row_id for (row_id,) in log.select(log.id).where(theirs).order_by(log.id).tuples()]
    changed = 0
    for start in range(0, len(ids), BATCH):
        with database.atomic():
            new_values = {
                row_id: {"name_typed": new_email, "ip": None, "user_agent": None}
                for row_id in ids[start : start + BATCH]
            }
            changed += replace_values(log, new_values)
    return changed


def _sessions(person):
    return UserSession.select(UserSession.id).where(
        (UserSession.user_id == person.id) & UserSession.ip.is_null(False)
    )
