"""Task pages: list (with bulk actions), show (with comments), create, edit, complete, delete."""

import peewee
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from activity_stream_workspace import access
from activity_stream_workspace import services
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.forms import assignable_people
from activity_stream_workspace.forms import chosen_company
from activity_stream_workspace.forms import chosen_many
from activity_stream_workspace.forms import form_values
from activity_stream_workspace.forms import object_id
from activity_stream_workspace.models import TASK_STATUSES
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import Task
from activity_stream_workspace.models import TaskAssignee
from activity_stream_workspace.models import TaskComment
from activity_stream_workspace.pages import actor
from activity_stream_workspace.pages import render_form
from activity_stream_workspace.pages import visible_or_404
from core.people import Role
from core.people import User

bp = Blueprint("tasks", __name__)


@bp.get("/tasks")
def tasks():
    """List the tasks the viewer may see, newest first, with companies and assignees."""
    query = (
        access.visible_tasks(actor())
        .select(Task, Company)
        .join(Company, peewee.JOIN.LEFT_OUTER, on=(Task.company == Company.id), attr="company")
        .order_by(Task.id.desc())
    )
    found = list(query)
    return render_template(
        "workspace/tasks.html",
        tasks=found,
        assignees=_assignees([task.id for task in found]),
        may_manage=access.may_manage(actor()),
    )


@bp.post("/tasks/bulk")
def bulk_tasks():
    """Mark the selected tasks done, or delete them: one statement, one event per task."""
    ids = {object_id(value) for value in request.form.getlist("task")} - {None}
    if not ids:
        raise ValidationError("task", "select at least one task")
    selected = list(access.visible_tasks(actor()).where(Task.id.in_(ids)))
    if len(selected) != len(ids):
        abort(404, "Some of the selected tasks do not exist, or are not shared with you.")
    action = request.form.get("action")
    if action == "complete":
        events = services.complete_tasks(actor(), selected)
        flash(f"{len(events)} task(s) marked done.")
    elif action == "delete":
        if not request.form.get("confirmed"):
            access.require(access.may_manage(actor()), "delete tasks")
            return render_template("workspace/confirm_bulk_delete.html", tasks=selected)
        events = services.delete_tasks(actor(), selected)
        flash(f"{len(events)} task(s) deleted.")
    else:
        raise ValidationError("action", "choose “complete” or “delete”")
    return redirect(url_for("workspace.tasks.tasks"))


@bp.get("/tasks/<int:task_id>")
def task(task_id):
    """Show a task with its assignees and comments, and the comment form."""
    user = actor()
    found = visible_or_404(access.visible_tasks(user), Task, task_id, "task")
    comments = (
        TaskComment.select(TaskComment, User, Role)
        .join(User, on=(TaskComment.author == User.id), attr="author")
        .join(Role)
        .where(TaskComment.task == found.id)
        .order_by(TaskComment.id)
    )
    return render_template(
        "workspace/task.html",
        task=found,
        assignees=_assignees([found.id]).get(found.id, []),
        comments=list(comments),
        may_manage=access.may_manage(user),
        may_complete=found.status != "done" and access.may_complete_task(user, found),
    )


@bp.post("/tasks/<int:task_id>/comments")
def comment(task_id):
    """Add the viewer's comment to a task."""
    found = visible_or_404(access.visible_tasks(actor()), Task, task_id, "task")
    services.comment_on_task(actor(), found, request.form.get("body", ""))
    flash("Comment added.")
    return redirect(url_for("workspace.tasks.task", task_id=found.id) + "#comments")


@bp.post("/tasks/<int:task_id>/complete")
def complete(task_id):
    """Mark one task done (its assignees may, too)."""
    found = visible_or_404(access.visible_tasks(actor()), Task, task_id, "task")
    if services.complete_tasks(actor(), [found]):
        flash(f"Task “{found.title}” is done.")
    return redirect(url_for("workspace.tasks.task", task_id=found.id))


@bp.route("/tasks/new", methods=["GET", "POST"])
def new_task():
    """Show the new-task form (optionally for ``?company=<id>``), or create the task."""
    access.require(access.may_manage(actor()), "create tasks")
    defaults = {"title": "", "description": "", "status": "open"}
    defaults.update(company=request.args.get("company", ""), assignees=set())
    if request.method == "POST":
        try:
            created = services.create_task(actor(), **_posted())
        except ValidationError as error:
            return _form(None, defaults, error)
        flash(f"Task “{created.title}” created.")
        return redirect(url_for("workspace.tasks.task", task_id=created.id))
    return _form(None, defaults)


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
def edit_task(task_id):
    """Show the edit form of a task, or save it."""
    found = visible_or_404(access.visible_tasks(actor()), Task, task_id, "task")
    access.require(access.may_manage(actor()), "edit tasks")
    defaults = {"title": found.title, "description": found.description, "status": found.status}
    defaults["company"] = str(found.company_id or "")
    defaults["assignees"] = {user.id for user in _assignees([found.id]).get(found.id, [])}
    if request.method == "POST":
        try:
            event = services.update_task(actor(), found, **_posted())
        except ValidationError as error:
            return _form(found, defaults, error)
        flash(f"Task “{found.title}” saved." if event else "Nothing changed.")
        return redirect(url_for("workspace.tasks.task", task_id=found.id))
    return _form(found, defaults)


@bp.route("/tasks/<int:task_id>/delete", methods=["GET", "POST"])
def delete_task(task_id):
    """Ask before deleting a task, then delete it."""
    found = visible_or_404(access.visible_tasks(actor()), Task, task_id, "task")
    access.require(access.may_manage(actor()), "delete tasks")
    if request.method == "POST":
        services.delete_task(actor(), found)
        flash(f"Task “{found.title}” deleted.")
        return redirect(url_for("workspace.tasks.tasks"))
    return render_template(
        "workspace/confirm_delete.html",
        kind="task",
        label=found.title,
        consequence="Its comments are deleted with it.",
        cancel_url=url_for("workspace.tasks.task", task_id=found.id),
    )


def _assignees(task_ids):
    """Return ``{task id: [User]}`` for ``task_ids`` in one query."""
    found = {}
    if not task_ids:
        return found
    query = (
        TaskAssignee.select(TaskAssignee.task, User.id, User.name)
        .join(User, on=(TaskAssignee.user == User.id))
        .where(TaskAssignee.task.in_(task_ids))
        .order_by(User.name)
    )
    for row in query:
        found.setdefault(row.task_id, []).append(row.user)
    return found


def _posted():
    fields = {name: request.form.get(name, "") for name in ("title", "description", "status")}
    fields["company"] = chosen_company()
    fields["assignees"] = chosen_many(assignable_people(), "assignees")
    return fields


def _form(found, defaults, error=None):
    return render_form(
        "workspace/task_form.html",
        error=error,
        task=found,
        values=form_values(defaults),
        statuses=TASK_STATUSES,
        companies=list(Company.select(Company.id, Company.name).order_by(Company.name)),
        people=assignable_people(),
        status_labels=dict(TASK_STATUSES),
    )
