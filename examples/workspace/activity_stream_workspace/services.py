"""The only write path of the workspace: every change and its activity record, together.

Each function takes the acting user, checks what they may do (``access.Denied``), validates
its input (``ValidationError`` naming the field), then in one transaction writes the change and
records it with ``record_activity``. When recording fails (``RecordError``) the transaction rolls
back and the change is gone too; when the change fails, nothing was recorded. Updates record
only the fields that changed and nothing at all when nothing did; bulk paths write with one
statement and record one event per affected object.

``create_*`` return the new object, ``update_*`` the event (None when nothing changed),
``delete_*`` and ``comment_on_task`` the event, bulk functions the list of events.
``view_document`` records a Contact's look at a shared document (at most once an hour).
"""

from contextlib import contextmanager
from dataclasses import replace

import peewee
from flask import abort

from activity_stream_workspace import access
from activity_stream_workspace import checks
from activity_stream_workspace import mail
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.models import DONE
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import CompanyMember
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import DocumentShare
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskAssignee
from activity_stream_workspace.models import TaskComment
from activity_stream_workspace.tracking import COMPANY
from activity_stream_workspace.tracking import DOCUMENT
from activity_stream_workspace.tracking import TASK
from activity_stream_workspace.tracking import linked_ids
from activity_stream_workspace.tracking import observe_company
from activity_stream_workspace.tracking import observe_document
from activity_stream_workspace.tracking import observe_task
from core.db import database
from core.db import for_update
from core.db import utcnow
from core.events import Audience
from core.events import record_activity
from core.events.changes import plain
from core.events.reads import record_once
from core.people import CONTACT

__all__ = ["ValidationError"]


def create_company(actor, **fields):
    """Create a company from ``name``, ``industry``, ``phone``, ``notes``,
    ``account_manager`` and ``members`` (contacts)."""
    access.require(access.may_manage(actor), "create companies")
    values, links = checks.company_values(fields, creating=True)
    with _unique_name(fields.get("name")):
        company = Company.create(**values)
        _replace_links(CompanyMember, "company", company, links.get("members", ()))
        _record(actor, "company.created", COMPANY, None, observe_company(company))
    return company


def update_company(actor, company, **fields):
    """Change the given fields of ``company``; return the event, or None when nothing changed."""
    access.require(access.may_manage(actor), "edit companies")
    values, links = checks.company_values(fields)
    with _unique_name(fields.get("name"), company.id):
        return _update(actor, company, values, links, COMPANY, observe_company, CompanyMember)


def delete_company(actor, company):
    """Delete ``company`` with its tasks and documents, recording each removal."""
    access.require(access.may_manage(actor), "delete companies")
    with database.atomic():
        tasks = delete_tasks(actor, list(Task.select().where(Task.company == company.id)))
        documents = [
            delete_document(actor, document)
            for document in Document.select().where(Document.company == company.id)
        ]
        before = observe_company(company)
        CompanyMember.delete().where(CompanyMember.company == company.id).execute()
        company.delete_instance()
        # What a restore needs to bring it all back: its children's own deletion records.
        kept = {
            "kept": _kept(company),
            "tasks": [event.id for event in tasks],
            "documents": [event.id for event in documents],
        }
        return _record(actor, "company.deleted", COMPANY, before, None, kept=kept)


def create_task(actor, **fields):
    """Create a task from ``title``, ``description``, ``status``, ``company``, ``assignees``."""
    access.require(access.may_manage(actor), "create tasks")
    values, links = checks.task_values(fields, creating=True)
    with database.atomic():
        task = Task.create(created_by=actor.id, **values)
        _replace_links(TaskAssignee, "task", task, links.get("assignees", ()))
        after = observe_task(task)
        _record(actor, "task.created", TASK, None, after)
        mail.task_assigned(actor, task, links.get("assignees", ()))
    return task


def update_task(actor, task, **fields):
    """Change the given fields of ``task``; a change to done is recorded as ``task.completed``."""
    access.require(access.may_manage(actor), "edit tasks")
    values, links = checks.task_values(fields)
    with database.atomic():
        assigned = mail.linked_ids(TaskAssignee, "task", task.id)
        event = _update(actor, task, values, links, TASK, observe_task, TaskAssignee)
        mail.task_changed(actor, task, event, assigned)
        return event


def complete_tasks(actor, tasks):
    """Mark ``tasks`` done with one statement; record ``task.completed`` for each that was not."""
    for task in tasks:
        access.require(access.may_complete_task(actor, task), f"complete task “{task.title}”")
    with database.atomic():
        # Decide inside the transaction which tasks are still open: copies loaded earlier may
        # be stale, and a task already done must get no second completion record.
        tasks = list(
            for_update(
                Task.select().where(Task.id.in_([t.id for t in tasks]) & (Task.status != DONE))
            )
        )
        if not tasks:
            return []
        before = {task.id: observe_task(task) for task in tasks}
        now = utcnow()
        Task.update(status=DONE, updated_at=now).where(
            Task.id.in_(list(before)) & (Task.status != DONE)
        ).execute()
        events = []
        for task in tasks:
            task.status, task.updated_at = DONE, now
            old = before[task.id]
            new = replace(old, state={**old.state, "status": DONE})
            events.append(_record(actor, "task.completed", TASK, old, new))
            mail.task_completed(actor, task)
        return events


def delete_task(actor, task):
    """Delete ``task`` with its assignees and comments; return the event."""
    return delete_tasks(actor, [task])[0]


def delete_tasks(actor, tasks):
    """Delete ``tasks`` with one statement per table; record ``task.deleted`` for each."""
    access.require(access.may_manage(actor), "delete tasks")
    if not tasks:
        return []
    with database.atomic():
        before = [observe_task(task) for task in tasks]
        ids = [task.id for task in tasks]
        kept = {task.id: {"kept": _kept(task, "created_by"), "comments": []} for task in tasks}
        for comment in (
            TaskComment.select().where(TaskComment.task.in_(ids)).order_by(TaskComment.id)
        ):
            kept[comment.task_id]["comments"].append(
                {"author": comment.author_id, "body": comment.body, "at": plain(comment.created_at)}
            )
        TaskAssignee.delete().where(TaskAssignee.task.in_(ids)).execute()
        TaskComment.delete().where(TaskComment.task.in_(ids)).execute()
        Task.delete().where(Task.id.in_(ids)).execute()
        return [
            _record(actor, "task.deleted", TASK, old, None, kept=kept[old.id]) for old in before
        ]


def comment_on_task(actor, task, body):
    """Add ``actor``'s comment to ``task`` (anyone who may see it); return the event."""
    access.require(access.may_see(access.visible_tasks(actor), task), "comment on this task")
    body = checks.text(body, "body", checks.LONG_TEXT, required=True)
    with database.atomic():
        TaskComment.create(task=task.id, author=actor.id, body=body)
        seen = observe_task(task)
        event = record_activity(
            actor,
            "task.commented",
            seen.ref,
            target=seen.target,
            audience=Audience(users=set(seen.users)),
            summary=body,
        )
        mail.task_commented(actor, task, mail.users(seen.people["assignees"]), body)
        return event


def create_document(actor, **fields):
    """Create a document from ``title``, ``body``, ``access_code``, ``company``, ``owner``
    (default: the actor) and ``shared_with`` (contacts)."""
    access.require(access.may_manage(actor), "create documents")
    fields.setdefault("owner", actor)
    values, links = checks.document_values(fields, creating=True)
    with database.atomic():
        document = Document.create(**values)
        _replace_links(DocumentShare, "document", document, links.get("shared_with", ()))
        _record(actor, "document.created", DOCUMENT, None, observe_document(document))
        mail.document_shared(actor, document, links.get("shared_with", ()))
    return document


def view_document(actor, document):
    """Record that a Contact opened ``document`` (``document.viewed``, related to the people it
    concerns: the agency sees that the client opened the proposal), at most once an hour per
    person and document; Staff opening it is not recorded. Return the event, or None."""
    if actor.role.kind != CONTACT:
        return None
    seen = observe_document(document)
    return record_once(
        actor,
        "document.viewed",
        seen.ref,
        target=seen.target,
        audience=Audience(users=set(seen.users)),
        summary="",
    )


def update_document(actor, document, **fields):
    """Change the given fields of ``document``: staff any, its owner and contacts it is shared
    with only ``title`` and ``body``. Sharing it with someone new records ``document.shared``."""
    allowed = access.document_fields_for(actor, document)
    access.require(allowed != (), "edit this document")
    refused = sorted(set(fields) - set(allowed)) if allowed is not None else []
    access.require(not refused, f"change {', '.join(refused)} of this document")
    values, links = checks.document_values(fields)
    with database.atomic():
        shared = mail.linked_ids(DocumentShare, "document", document.id)
        event = _update(actor, document, values, links, DOCUMENT, observe_document, DocumentShare)
        mail.document_changed(actor, document, shared)
        return event


def delete_document(actor, document):
    """Delete ``document`` and its shares; return the event."""
    access.require(access.may_manage(actor), "delete documents")
    with database.atomic():
        before = observe_document(document)
        DocumentShare.delete().where(DocumentShare.document == document.id).execute()
        document.delete_instance()
        kept = {"kept": _kept(document)}
        return _record(actor, "document.deleted", DOCUMENT, before, None, kept=kept)


def _update(actor, instance, values, links, tracking, observe, link_model):
    """Apply ``values`` and ``links`` inside the caller's transaction; record what changed.

    The row is read again, locked, inside the transaction: ``instance`` may have been loaded
    before another change committed, and saving its stale fields would undo that change
    without a record.
    """
    model = type(instance)
    current = for_update(model.select().where(model.id == instance.id)).first()
    if current is None:
        abort(404, f"That {tracking.kind} no longer exists.")
    result = _apply(actor, current, values, links, tracking, observe, link_model)
    instance.__data__.update(current.__data__)
    return result


def _apply(actor, instance, values, links, tracking, observe, link_model):
    before = observe(instance)
    for name, value in values.items():
        setattr(instance, name, value)
    for users in links.values():
        _replace_links(link_model, tracking.kind, instance, users)
    after = observe(instance)
    changes = tracking.changes(before, after)
    if not changes:
        return None  # nothing changed: nothing written, nothing recorded
    instance.updated_at = utcnow()
    instance.save()
    return _record(actor, _verb(tracking.kind, changes), tracking, before, after, changes)


def _verb(kind, changes):
    """Name an update: completing a task and sharing a document say so."""
    if kind == "task" and changes.get("status", [None, None])[1] == DONE:
        return "task.completed"
    if kind == "document" and "shared_with" in changes:
        old, new = changes["shared_with"]
        if set(new or ()) - set(old or ()):
            return "document.shared"
    return f"{kind}.updated"


def _record(actor, verb, tracking, before, after, changes=None, kept=None):
    """Record ``verb`` on the object observed ``before`` and/or ``after`` the change.

    A change or a deletion also keeps, in the event's metadata, what a restore needs beyond
    the change set (``restoring``): the ids behind the names of its people and company
    fields (``{"ids": {field: [before, after]}}``), and ``kept`` (a deletion's own values).
    """
    seen = after or before
    changes = changes if changes is not None else tracking.changes(before, after)
    ids = {}
    if before is not None:
        pairs = {name: [linked_ids(before, name), linked_ids(after, name)] for name in changes}
        ids = {name: pair for name, pair in pairs.items() if pair != [None, None]}
    metadata = {**({"ids": ids} if ids else {}), **(kept or {})}
    return record_activity(
        actor,
        verb,
        seen.ref,
        changes=changes or None,
        target=seen.target,
        audience=Audience(users=set(seen.users | (before.users if before else frozenset()))),
        summary="" if after is None else None,  # a deletion's sentence says it all
        metadata=metadata or None,
    )


def _kept(instance, *fields):
    """Return what a deletion keeps of ``instance`` for a restore: its creation time and
    ``fields`` (ids of its foreign keys, by their column: ``created_by`` → ``created_by_id``)."""
    kept = {"created_at": plain(instance.created_at)}
    kept.update({name: getattr(instance, f"{name}_id") for name in fields})
    return kept


def _replace_links(link_model, owner_field, owner, users):
    """Make ``users`` exactly the people linked to ``owner``, writing only the difference."""
    owner_column = getattr(link_model, owner_field)
    current = {row.user_id for row in link_model.select().where(owner_column == owner.id)}
    wanted = {user.id for user in users}
    if current - wanted:
        link_model.delete().where(
            (owner_column == owner.id) & link_model.user.in_(current - wanted)
        ).execute()
    if wanted - current:
        rows = [{owner_field: owner.id, "user": user_id} for user_id in sorted(wanted - current)]
        link_model.insert_many(rows).execute()


@contextmanager
def _unique_name(name, company_id=None):
    """Run a company change in a transaction; a duplicate name is reported on ``name``."""
    try:
        with database.atomic():
            yield
    except peewee.IntegrityError:
        taken = Company.select().where(Company.name == (name or "").strip())
        if company_id is not None:
            taken = taken.where(Company.id != company_id)
        if name is None or not taken.exists():
            raise
        raise ValidationError("name", f"a company named “{name.strip()}” already exists") from None
