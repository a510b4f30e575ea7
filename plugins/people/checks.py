"""What Manage People and Manage Teams accept, and the two ways they refuse.

``Invalid`` names the field at fault (400, the form shown again with the message); ``Denied``
says what the acting user may not do (403). The views turn both into plain answers.
"""

import re

from core.forms import FieldError
from core.forms import bounded_text as text
from core.people import Role
from core.people import is_time_zone

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The addresses pseudonymised people get (``plugins.people.pseudonyms``): never a mailbox.
PSEUDONYM_DOMAIN = "pseudonymised.invalid"
LIMITS = {"name": 80, "description": 2000, "person_name": 120, "email": 254}


# The app's one field error (400, naming the field), by the name these modules use.
Invalid = FieldError


class Denied(PermissionError):
    """The acting user may not do this (403)."""


def require_manager(actor):
    """Refuse anyone but the owner and admin kinds: they alone manage people and teams."""
    if actor is None or not actor.is_admin:
        raise Denied("Only the Super Admin and Admins manage people and teams.")


def color(value):
    """Return ``value`` as a lower-case ``#rrggbb`` color; refuse anything else."""
    value = (value or "").strip().lower()
    if not COLOR.match(value):
        raise Invalid("color", f"{value[:20]!r} is not a color like #4f46e5")
    return value


def email(value):
    """Return ``value`` as a lower-case email address; refuse one without a local part and
    a domain."""
    value = (value or "").strip().lower()
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or any(c.isspace() for c in value):
        raise Invalid("email", f"{value[:60]!r} is not an email address")
    return text(value, "email", LIMITS["email"])


def time_zone(value):
    """Return ``value`` when it names one of the time zones offered (``Europe/Paris``)."""
    value = (value or "").strip()
    if not is_time_zone(value):
        raise Invalid("time_zone", f"{value[:60]!r} is not a known time zone, e.g. Europe/Paris")
    return value


def role(value):
    """Return the role posted as ``value`` (its id or its name); refuse an unknown one."""
    value = (value or "").strip()
    found = None
    if value.isascii() and value.isdigit() and len(value) < 10:
        found = Role.get_or_none(Role.id == int(value))
    found = found or Role.get_or_none(Role.name == value)
    if found is None:
        raise Invalid("role", f"there is no role {value[:40]!r}")
    return found
