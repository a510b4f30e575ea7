"""Company pages: list, show, create, edit, delete."""

import peewee
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from activity_stream_workspace import access
from activity_stream_workspace import services
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.forms import chosen
from activity_stream_workspace.forms import chosen_many
from activity_stream_workspace.forms import contact_people
from activity_stream_workspace.forms import form_values
from activity_stream_workspace.forms import staff_people
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import CompanyMember
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import Task
from activity_stream_workspace.pages import actor
from activity_stream_workspace.pages import render_form
from activity_stream_workspace.pages import visible_or_404
from activity_stream_workspace.tracking import linked_users
from core.people import User

TEXT_FIELDS = ("name", "industry", "phone", "notes")

bp = Blueprint("companies", __name__)


@bp.get("/companies")
def companies():
    """List the companies the viewer may see, with their account managers."""
    manager = User.alias()
    query = (
        access.visible_companies(actor())
        .select(Company, manager)
        .join(manager, peewee.JOIN.LEFT_OUTER, on=(Company.account_manager == manager.id))
        .order_by(Company.name)
    )
    return render_template("workspace/companies.html", companies=list(query))


@bp.get("/companies/<int:company_id>")
def company(company_id):
    """Show a company: its fields, contacts, and the tasks and documents the viewer may see."""
    user = actor()
    found = visible_or_404(access.visible_companies(user), Company, company_id, "company")
    tasks = access.visible_tasks(user).where(Task.company == found.id).order_by(Task.id.desc())
    documents = access.visible_documents(user).where(Document.company == found.id)
    return render_template(
        "workspace/company.html",
        company=found,
        members=linked_users(CompanyMember, "company", found.id),
        tasks=list(tasks),
        documents=list(documents.order_by(Document.title)),
    )


@bp.route("/companies/new", methods=["GET", "POST"])
def new_company():
    """Show the new-company form, or create the company."""
    access.require(access.may_manage(actor()), "create companies")
    defaults = {"name": "", "industry": "", "phone": "", "notes": "", "account_manager": ""}
    defaults["members"] = set()
    if request.method == "POST":
        try:
            created = services.create_company(actor(), **_posted())
        except ValidationError as error:
            return _form(None, defaults, error)
        flash(f"Company “{created.name}” created.")
        return redirect(url_for("workspace.companies.company", company_id=created.id))
    return _form(None, defaults)


@bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
def edit_company(company_id):
    """Show the edit form of a company, or save it."""
    found = visible_or_404(access.visible_companies(actor()), Company, company_id, "company")
    access.require(access.may_manage(actor()), "edit companies")
    defaults = {name: getattr(found, name) for name in TEXT_FIELDS}
    defaults["account_manager"] = str(found.account_manager_id or "")
    defaults["members"] = {user.id for user in linked_users(CompanyMember, "company", found.id)}
    if request.method == "POST":
        try:
            event = services.update_company(actor(), found, **_posted())
        except ValidationError as error:
            return _form(found, defaults, error)
        flash(f"Company “{found.name}” saved." if event else "Nothing changed.")
        return redirect(url_for("workspace.companies.company", company_id=found.id))
    return _form(found, defaults)


@bp.route("/companies/<int:company_id>/delete", methods=["GET", "POST"])
def delete_company(company_id):
    """Ask before deleting a company (and its tasks and documents), then delete it."""
    found = visible_or_404(access.visible_companies(actor()), Company, company_id, "company")
    access.require(access.may_manage(actor()), "delete companies")
    if request.method == "POST":
        services.delete_company(actor(), found)
        flash(f"Company “{found.name}” deleted.")
        return redirect(url_for("workspace.companies.companies"))
    tasks = Task.select().where(Task.company == found.id).count()
    documents = Document.select().where(Document.company == found.id).count()
    return render_template(
        "workspace/confirm_delete.html",
        kind="company",
        label=found.name,
        consequence=f"Its {tasks} task(s) and {documents} document(s) are deleted with it.",
        cancel_url=url_for("workspace.companies.company", company_id=found.id),
    )


def _posted():
    fields = {name: request.form.get(name, "") for name in TEXT_FIELDS}
    fields["account_manager"] = chosen(staff_people(), "account_manager")
    fields["members"] = chosen_many(contact_people(), "members")
    return fields


def _form(found, defaults, error=None):
    return render_form(
        "workspace/company_form.html",
        error=error,
        company=found,
        values=form_values(defaults),
        staff=staff_people(),
        contacts=contact_people(),
    )
