"""Input checks of the service layer: a bad value raises ``ValidationError`` naming its field.

Each ``*_values`` function takes the keyword fields given to a service and returns the column
values and the people links (members, assignees, shares) to write.
"""

from activity_stream_workspace.models import TASK_STATUSES
from activity_stream_workspace.models import Company
from core.forms import FieldError
from core.forms import bounded_text as text
from core.people import CONTACT

LONG_TEXT = 20_000


# The app's one field error (400, naming the field), by the name the workspace's modules use.
ValidationError = FieldError


def is_staff(user):
    """Tell whether ``user`` may manage accounts and own documents."""
    return user.is_staff


def is_contact(user):
    """Tell whether ``user`` is a Contact (a company member, a document's reader)."""
    return user.role.kind == CONTACT


def may_be_assigned(user):
    """Tell whether ``user`` may be assigned a task: anyone active who may sign in."""
    return user.active and user.role.can_sign_in


def person(user, field, fits, what):
    """Return ``user`` (or None) when ``fits(user)``; else refuse it on ``field``."""
    if user is not None and not fits(user):
        raise ValidationError(field, f"{user.name} is not {what}")
    return user


def people(users, field, fits, what):
    """Return ``users`` as a list when each ``fits``; else refuse the first misfit on ``field``."""
    users = list(users or ())
    for user in users:
        person(user, field, fits, what)
    return users


def _fields(fields, texts, known, creating):
    unknown = set(fields) - set(texts) - set(known)
    if unknown:
        raise TypeError(f"unknown field(s): {', '.join(sorted(unknown))}")
    values = {}
    for name, (limit, required) in texts.items():
        if name in fields or (creating and required):
            values[name] = text(fields.get(name), name, limit, required)
    return values


def company_values(fields, creating=False):
    """Check the fields of a company."""
    texts = {
        "name": (120, True),
        "industry": (80, False),
        "phone": (40, False),
        "notes": (LONG_TEXT, False),
    }
    values = _fields(fields, texts, ("account_manager", "members"), creating)
    links = {}
    if "account_manager" in fields:
        values["account_manager"] = person(
            fields["account_manager"], "account_manager", is_staff, "a Staff Member"
        )
    if "members" in fields:
        links["members"] = people(fields["members"], "members", is_contact, "a Contact")
    return values, links


def task_values(fields, creating=False):
    """Check the fields of a task."""
    texts = {"title": (200, True), "description": (LONG_TEXT, False)}
    values = _fields(fields, texts, ("status", "company", "assignees"), creating)
    links = {}
    if "status" in fields:
        if fields["status"] not in dict(TASK_STATUSES):
            choices = ", ".join(dict(TASK_STATUSES))
            raise ValidationError("status", f"{fields['status']!r} is not one of: {choices}")
        values["status"] = fields["status"]
    if "company" in fields:
        values["company"] = _company(fields["company"])
    if "assignees" in fields:
        links["assignees"] = people(
            fields["assignees"], "assignees", may_be_assigned, "someone who may sign in"
        )
    return values, links


def document_values(fields, creating=False):
    """Check the fields of a document."""
    texts = {"title": (200, True), "body": (LONG_TEXT, False), "access_code": (64, False)}
    values = _fields(fields, texts, ("company", "owner", "shared_with"), creating)
    links = {}
    if "company" in fields:
        values["company"] = _company(fields["company"])
    if "owner" in fields or creating:
        owner = fields.get("owner")
        if owner is None:
            raise ValidationError("owner", "must be chosen")
        values["owner"] = person(owner, "owner", is_staff, "a Staff Member")
    if "shared_with" in fields:
        links["shared_with"] = people(fields["shared_with"], "shared_with", is_contact, "a Contact")
    return values, links


def _company(company):
    if company is not None and not isinstance(company, Company):
        raise ValidationError("company", "must be a company")
    return company
