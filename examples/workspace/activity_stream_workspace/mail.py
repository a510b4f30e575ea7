"""The workspace's email notifications, queued in the transaction of the action (``notify``).

Nobody is told about their own action: the actor is never among the recipients.
"""

from flask import has_request_context
from flask import url_for

from core.notifications import Notification
from core.notifications import notify
from core.people import User

TEMPLATES = "workspace/mail/"


def _link(endpoint, **values):
    # Absolute links need the request's host; outside a request (the demo) there is none.
    return url_for(endpoint, _external=True, **values) if has_request_context() else None


def _others(actor, users):
    """Return ``users`` without ``actor``, each once, in a stable order."""
    seen = {}
    for user in users:
        if user is not None and user.id != getattr(actor, "id", None):
            seen.setdefault(user.id, user)
    return tuple(seen[user_id] for user_id in sorted(seen))


def _send(kind, actor, recipients, subject, template, **context):
    recipients = _others(actor, recipients)
    if not recipients:
        return []
    context["actor_name"] = actor.name if actor is not None else "Activity Stream"
    return notify(
        Notification(
            kind=kind,
            recipients=recipients,
            subject=subject,
            template=TEMPLATES + template,
            context=context,
            sender=actor,
        )
    )


def _task_context(task):
    company = task.company.name if task.company_id else None
    link = _link("workspace.tasks.task", task_id=task.id)
    return {"title": task.title, "company": company, "link": link}


def task_assigned(actor, task, users):
    """Tell each of ``users`` that ``actor`` assigned them ``task``."""
    return _send(
        "task.assigned",
        actor,
        users,
        f"Task assigned to you: {task.title}",
        "task_assigned",
        **_task_context(task),
    )


def task_completed(actor, task):
    """Tell the creator of ``task`` that ``actor`` completed it."""
    creator = User.get_or_none(User.id == task.created_by_id) if task.created_by_id else None
    return _send(
        "task.completed",
        actor,
        [creator],
        f"Task completed: {task.title}",
        "task_completed",
        **_task_context(task),
    )


def task_commented(actor, task, assignees, body):
    """Tell the assignees and the creator of ``task`` (not the commenter) about a comment."""
    creator = User.get_or_none(User.id == task.created_by_id) if task.created_by_id else None
    return _send(
        "task.commented",
        actor,
        [*assignees, creator],
        f"New comment on {task.title}",
        "task_commented",
        body=body,
        **_task_context(task),
    )


def document_shared(actor, document, contacts):
    """Tell each of ``contacts`` that ``actor`` shared ``document`` with them."""
    link = _link("workspace.documents.document", document_id=document.id)
    return _send(
        "document.shared",
        actor,
        contacts,
        f"Document shared with you: {document.title}",
        "document_shared",
        title=document.title,
        link=link,
    )


def users(ids):
    """Return the users with ``ids`` (for recipients known by id only)."""
    return list(User.select(User.id).where(User.id.in_(list(ids)))) if ids else []


def linked_ids(link_model, owner_field, owner_id):
    """Return the ids of the users linked to one object (assignees, shares) right now."""
    column = getattr(link_model, owner_field)
    return {row.user_id for row in link_model.select(link_model.user).where(column == owner_id)}


def task_changed(actor, task, event, assigned_before):
    """After an edit of ``task``: tell new assignees, and the creator if it was completed."""
    from activity_stream_workspace.models import TaskAssignee

    added = linked_ids(TaskAssignee, "task", task.id) - assigned_before
    task_assigned(actor, task, users(added))
    if event is not None and event.verb == "task.completed":
        task_completed(actor, task)


def document_changed(actor, document, shared_before):
    """After an edit of ``document``: tell the contacts it is newly shared with."""
    from activity_stream_workspace.models import DocumentShare

    added = linked_ids(DocumentShare, "document", document.id) - shared_before
    document_shared(actor, document, users(added))
