"""Who may see and change what in the workspace.

Visibility is a query (an SQL condition), so a list is filtered in the database and a single
object is looked up through the same query: an object the viewer may not see does not exist
for them (404). Staff Members see everything and manage everything; Contacts see the companies
they belong to, the tasks of those companies and the tasks assigned to them, and the documents
shared with them; Freelancers see the tasks assigned to them.
"""

import peewee

from activity_stream_workspace.models import Company
from activity_stream_workspace.models import CompanyMember
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import DocumentShare
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskAssignee
from core.people import CONTACT

# What a non-staff person with access to a document may change in it.
SHARED_DOCUMENT_FIELDS = ("title", "body")

NOTHING = peewee.SQL("1 = 0")


class Denied(PermissionError):
    """The acting user may not do this (403)."""


def require(allowed, what):
    """Raise ``Denied`` naming ``what`` unless ``allowed``."""
    if not allowed:
        raise Denied(f"You may not {what}.")


def may_manage(user):
    """Tell whether ``user`` may create, edit and delete companies, tasks and documents."""
    return user.is_staff


def _member_companies(user):
    return CompanyMember.select(CompanyMember.company).where(CompanyMember.user == user.id)


def _assigned_tasks(user):
    return TaskAssignee.select(TaskAssignee.task).where(TaskAssignee.user == user.id)


def visible_companies(user):
    """Return the query of the companies ``user`` may see."""
    query = Company.select()
    if user.is_staff:
        return query
    if user.role.kind == CONTACT:
        return query.where(Company.id.in_(_member_companies(user)))
    return query.where(NOTHING)


def visible_tasks(user):
    """Return the query of the tasks ``user`` may see."""
    query = Task.select()
    if user.is_staff:
        return query
    condition = Task.id.in_(_assigned_tasks(user))
    if user.role.kind == CONTACT:
        condition |= Task.company.in_(_member_companies(user))
    return query.where(condition)


def visible_documents(user):
    """Return the query of the documents ``user`` may see: staff all, others owned or shared."""
    query = Document.select()
    if user.is_staff:
        return query
    shared = DocumentShare.select(DocumentShare.document).where(DocumentShare.user == user.id)
    return query.where((Document.owner == user.id) | Document.id.in_(shared))


def may_see(query, instance):
    """Tell whether ``instance`` is among the rows of the visibility ``query``."""
    model = type(instance)
    return query.where(model.id == instance.id).exists()


def may_complete_task(user, task):
    """Tell whether ``user`` may mark ``task`` done: staff, or one of its assignees."""
    if user.is_staff:
        return True
    return _assigned_tasks(user).where(TaskAssignee.task == task.id).exists()


def document_fields_for(user, document):
    """Return the fields of ``document`` that ``user`` may change (none when they may not)."""
    if user.is_staff:
        return None  # every field
    if may_see(visible_documents(user), document):
        return SHARED_DOCUMENT_FIELDS
    return ()


def may_edit_document(user, document):
    """Tell whether ``user`` may edit ``document`` at all."""
    return document_fields_for(user, document) != ()


def may_see_access_code(user, document):
    """Tell whether ``user`` may read the document's access code: staff or its owner."""
    return user.is_staff or document.owner_id == user.id
