"""The sign-in log: every attempt through the sign-in form, recorded by core itself.

Signing in is core's own domain, so core records it, with a plain function called by the
sign-in view, not a hook a failing plugin could skip. The Logins tab plugin only reads this
table. Each attempt is written in a transaction of its own, so it stays recorded whatever
the outcome of the attempt.
"""

import peewee
from flask import has_request_context
from flask import request

from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.records import all_or_nothing
from core.records import allocate_ids
from core.records import clip
from core.records import insert_many

SIGNED_IN = "signed_in"
WRONG_PASSWORD = "wrong_password"
UNKNOWN_USER = "unknown_user"
INACTIVE = "inactive"
NOT_ALLOWED = "not_allowed"
INVALID_FORM = "invalid_form"
OUTCOMES = (SIGNED_IN, WRONG_PASSWORD, UNKNOWN_USER, INACTIVE, NOT_ALLOWED, INVALID_FORM)


class SignInAttempt(BaseModel):
    """One attempt to sign in: when, the name as typed, whom it matched, how it ended."""

    id = peewee.BigAutoField()
    attempted_at = peewee.DateTimeField(default=utcnow)
    name_typed = peewee.CharField(max_length=254)
    user_id = peewee.IntegerField(null=True)  # no foreign key: the user may be deleted later
    outcome = peewee.CharField(max_length=32)
    ip = peewee.CharField(max_length=45, null=True)
    user_agent = peewee.CharField(max_length=300, null=True)

    class Meta:
        indexes = (
            (("user_id", "id"), False),
            (("outcome", "id"), False),
            (("attempted_at",), False),
        )


MODELS = (SignInAttempt,)
COLUMNS = [f.column_name for f in SignInAttempt._meta.sorted_fields if f.name != "id"]


def neutralise(text, limit):
    """Return ``text`` with control characters shown as ``�`` and cut to ``limit``."""
    text = "".join("\ufffd" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text or "")
    return clip(text, limit)


def record_sign_in_attempt(name_typed, user, outcome):
    """Record one sign-in attempt (never the password) in its own transaction; return its id.

    ``user`` is the account the name matched, or None; ``outcome`` one of ``OUTCOMES``.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    row = {
        "attempted_at": utcnow(),
        "name_typed": neutralise(name_typed, 254),
        "user_id": user.id if user is not None else None,
        "outcome": outcome,
        "ip": request.remote_addr if has_request_context() else None,
        "user_agent": clip(request.headers.get("User-Agent"), 300) or None
        if has_request_context()
        else None,
    }
    table = SignInAttempt._meta.table_name
    with all_or_nothing("sign_in_record"):
        cursor = database.cursor()
        (attempt_id,) = allocate_ids(table, 1, cursor)
        insert_many(cursor, table, ["id", *COLUMNS], [(attempt_id, *(row[c] for c in COLUMNS))])
    return attempt_id
