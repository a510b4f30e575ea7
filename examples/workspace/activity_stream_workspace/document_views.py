"""Document pages: list, show, create, edit (contacts too, when shared with them), delete."""

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
from activity_stream_workspace.forms import chosen_company
from activity_stream_workspace.forms import chosen_many
from activity_stream_workspace.forms import contact_people
from activity_stream_workspace.forms import form_values
from activity_stream_workspace.forms import staff_people
from activity_stream_workspace.models import Company
from activity_stream_workspace.models import Document
from activity_stream_workspace.models import DocumentShare
from activity_stream_workspace.pages import actor
from activity_stream_workspace.pages import render_form
from activity_stream_workspace.pages import visible_or_404
from activity_stream_workspace.tracking import linked_users
from core.people import User

TEXT_FIELDS = ("title", "body", "access_code")

bp = Blueprint("documents", __name__)


@bp.get("/documents")
def documents():
    """List the documents the viewer may see, with owners and companies."""
    query = (
        access.visible_documents(actor())
        .select(Document, User, Company)
        .join(User, on=(Document.owner == User.id), attr="owner")
        .switch(Document)
        .join(Company, peewee.JOIN.LEFT_OUTER, on=(Document.company == Company.id), attr="company")
        .order_by(Document.title, Document.id)
    )
    return render_template(
        "workspace/documents.html",
        documents=list(query),
        may_manage=access.may_manage(actor()),
    )


@bp.get("/documents/<int:document_id>")
def document(document_id):
    """Show a document, who owns it and whom it is shared with; a Contact's look is recorded."""
    user = actor()
    found = visible_or_404(access.visible_documents(user), Document, document_id, "document")
    services.view_document(user, found)
    return render_template(
        "workspace/document.html",
        document=found,
        shared_with=linked_users(DocumentShare, "document", found.id),
        may_manage=access.may_manage(user),
        may_edit=access.may_edit_document(user, found),
        may_see_code=access.may_see_access_code(user, found),
    )


@bp.route("/documents/new", methods=["GET", "POST"])
def new_document():
    """Show the new-document form, or create the document."""
    access.require(access.may_manage(actor()), "create documents")
    defaults = {name: "" for name in TEXT_FIELDS}
    defaults.update(company=request.args.get("company", ""), owner=str(actor().id))
    defaults["shared_with"] = set()
    if request.method == "POST":
        try:
            created = services.create_document(actor(), **_posted(None))
        except ValidationError as error:
            return _form(None, defaults, error)
        flash(f"Document “{created.title}” created.")
        return redirect(url_for("workspace.documents.document", document_id=created.id))
    return _form(None, defaults)


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
def edit_document(document_id):
    """Show the edit form of a document, or save it; non-staff edit its title and body only."""
    user = actor()
    found = visible_or_404(access.visible_documents(user), Document, document_id, "document")
    access.require(access.may_edit_document(user, found), "edit this document")
    defaults = {name: getattr(found, name) for name in TEXT_FIELDS}
    defaults.update(company=str(found.company_id or ""), owner=str(found.owner_id))
    defaults["shared_with"] = {u.id for u in linked_users(DocumentShare, "document", found.id)}
    if request.method == "POST":
        try:
            event = services.update_document(user, found, **_posted(found))
        except ValidationError as error:
            return _form(found, defaults, error)
        flash(f"Document “{found.title}” saved." if event else "Nothing changed.")
        return redirect(url_for("workspace.documents.document", document_id=found.id))
    return _form(found, defaults)


@bp.route("/documents/<int:document_id>/delete", methods=["GET", "POST"])
def delete_document(document_id):
    """Ask before deleting a document, then delete it."""
    found = visible_or_404(access.visible_documents(actor()), Document, document_id, "document")
    access.require(access.may_manage(actor()), "delete documents")
    if request.method == "POST":
        services.delete_document(actor(), found)
        flash(f"Document “{found.title}” deleted.")
        return redirect(url_for("workspace.documents.documents"))
    return render_template(
        "workspace/confirm_delete.html",
        kind="document",
        label=found.title,
        consequence="People it is shared with lose access to it.",
        cancel_url=url_for("workspace.documents.document", document_id=found.id),
    )


def _editable(found):
    """Return the fields the viewer may change in ``found`` (every one when None)."""
    if found is None:
        return None
    return access.document_fields_for(actor(), found)


def _posted(found):
    editable = _editable(found)
    fields = {name: request.form.get(name, "") for name in TEXT_FIELDS}
    if editable is None:
        fields["company"] = chosen_company()
        fields["owner"] = chosen(staff_people(), "owner")
        fields["shared_with"] = chosen_many(contact_people(), "shared_with")
        return fields
    return {name: value for name, value in fields.items() if name in editable}


def _form(found, defaults, error=None):
    return render_form(
        "workspace/document_form.html",
        error=error,
        document=found,
        values=form_values(defaults),
        editable=_editable(found),
        companies=list(Company.select(Company.id, Company.name).order_by(Company.name)),
        staff=staff_people(),
        contacts=contact_people(),
    )
