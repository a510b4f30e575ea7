"""The workspace tables: Companies, Tasks (with assignees and comments), Documents (shared).

Every foreign key is ``RESTRICT``: the database never removes a row on its own. Rows go away
only through ``services``, which records each removal; the activity tables hold no foreign
key to these tables, so an object's history outlives it.
"""

import peewee

from core.db import BaseModel
from core.db import utcnow
from core.people import User

OPEN = "open"
IN_PROGRESS = "in_progress"
DONE = "done"
TASK_STATUSES = ((OPEN, "Open"), (IN_PROGRESS, "In progress"), (DONE, "Done"))


class Company(BaseModel):
    """A client company; its contacts are members, one staff member manages the account."""

    name = peewee.CharField(max_length=120, unique=True)
    industry = peewee.CharField(max_length=80, default="")
    phone = peewee.CharField(max_length=40, default="")
    notes = peewee.TextField(default="")
    account_manager = peewee.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workspace_company"


class CompanyMember(BaseModel):
    """One contact belonging to one company."""

    company = peewee.ForeignKeyField(Company, backref="memberships", on_delete="RESTRICT")
    user = peewee.ForeignKeyField(User, on_delete="RESTRICT")

    class Meta:
        table_name = "workspace_company_member"
        indexes = ((("company", "user"), True), (("user", "company"), False))


class Task(BaseModel):
    """A piece of work, maybe for a company, with assignees and a status."""

    title = peewee.CharField(max_length=200)
    description = peewee.TextField(default="")
    status = peewee.CharField(max_length=16, default=OPEN, choices=TASK_STATUSES)
    company = peewee.ForeignKeyField(Company, null=True, on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(User, null=True, on_delete="RESTRICT")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workspace_task"
        indexes = ((("company",), False), (("status",), False))

    @property
    def status_label(self):
        """Return the status as people read it."""
        return dict(TASK_STATUSES).get(self.status, self.status)


class TaskAssignee(BaseModel):
    """One person assigned to one task."""

    task = peewee.ForeignKeyField(Task, backref="assignments", on_delete="RESTRICT")
    user = peewee.ForeignKeyField(User, on_delete="RESTRICT")

    class Meta:
        table_name = "workspace_task_assignee"
        indexes = ((("task", "user"), True), (("user", "task"), False))


class TaskComment(BaseModel):
    """A comment on a task, by anyone who may see the task."""

    task = peewee.ForeignKeyField(Task, backref="comments", on_delete="RESTRICT")
    author = peewee.ForeignKeyField(User, on_delete="RESTRICT")
    body = peewee.TextField()
    created_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workspace_task_comment"
        indexes = ((("task", "id"), False),)


class Document(BaseModel):
    """A text document with an owner, shared with contacts; ``access_code`` is a secret."""

    title = peewee.CharField(max_length=200)
    body = peewee.TextField(default="")
    # A secret (e.g. the code of a data room): recorded as changed, never its value.
    access_code = peewee.CharField(max_length=64, default="")
    company = peewee.ForeignKeyField(Company, null=True, on_delete="RESTRICT")
    owner = peewee.ForeignKeyField(User, on_delete="RESTRICT")
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)

    class Meta:
        table_name = "workspace_document"
        indexes = ((("company",), False), (("owner",), False))


class DocumentShare(BaseModel):
    """One document shared with one contact."""

    document = peewee.ForeignKeyField(Document, backref="shares", on_delete="RESTRICT")
    user = peewee.ForeignKeyField(User, on_delete="RESTRICT")

    class Meta:
        table_name = "workspace_document_share"
        indexes = ((("document", "user"), True), (("user", "document"), False))


MODELS = (Company, CompanyMember, Task, TaskAssignee, TaskComment, Document, DocumentShare)
