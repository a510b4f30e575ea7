"""Reading workspace forms: posted ids to objects, and what a form shows after an error.

A posted value that is not among the choices offered raises ``ValidationError`` naming the
field, so the page answers 400 with the form and its message.
"""

from flask import request

from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.checks import is_contact
from activity_stream_workspace.checks import may_be_assigned
from activity_stream_workspace.models import Company
from core.inputs import is_id
from core.people import STAFF_KINDS
from core.people import Role
from core.people import User


def object_id(value):
    """Return ``value`` as an object id, or None when it is not one."""
    value = (value or "").strip()
    return int(value) if is_id(value) else None


def form_values(defaults):
    """Return what a form shows: what was posted (after an error), else ``defaults``.

    List defaults are sets of ids (checkboxes); others are strings (ids of selects as strings).
    """
    if request.method != "POST":
        return defaults
    values = {}
    for name, default in defaults.items():
        if isinstance(default, set):
            values[name] = {int(v) for v in request.form.getlist(name) if is_id(v)}
        else:
            values[name] = request.form.get(name, "")
    return values


def chosen(choices, field):
    """Return the one user of ``choices`` posted as ``field`` (None when left empty)."""
    value = request.form.get(field, "")
    if not value:
        return None
    found = {str(user.id): user for user in choices}.get(value)
    if found is None:
        raise ValidationError(field, f"{value!r} is not one of the people offered")
    return found


def chosen_company(field="company"):
    """Return the company posted as ``field`` (None when left empty)."""
    posted = request.form.get(field, "")
    if not posted:
        return None
    company_id = object_id(posted)
    found = Company.get_or_none(Company.id == company_id) if company_id else None
    if found is None:
        raise ValidationError(field, f"{posted!r} is not a company")
    return found


def chosen_many(choices, field):
    """Return the users of ``choices`` posted as ``field`` (checkboxes)."""
    offered = {str(user.id): user for user in choices}
    picked = []
    for value in dict.fromkeys(request.form.getlist(field)):
        if value not in offered:
            raise ValidationError(field, f"{value!r} is not one of the people offered")
        picked.append(offered[value])
    return picked


def people(fits):
    """Return the active people that ``fits`` accepts, by name (roles joined, one query)."""
    query = User.select(User, Role).join(Role).where(User.active).order_by(User.name)
    return [user for user in query if fits(user)]


def staff_people():
    """Return the Staff Members (account managers, document owners)."""
    return people(lambda user: user.role.kind in STAFF_KINDS)


def contact_people():
    """Return the Contacts (company members, document readers)."""
    return people(is_contact)


def assignable_people():
    """Return the people a task may be assigned to."""
    return people(may_be_assigned)
