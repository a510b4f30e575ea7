"""Private Message pages: the inbox (received / sent), one message, and the compose form."""

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from activity_stream_workspace import messages
from activity_stream_workspace.checks import ValidationError
from activity_stream_workspace.forms import chosen_many
from activity_stream_workspace.forms import object_id
from activity_stream_workspace.pages import actor
from activity_stream_workspace.pages import render_form
from activity_stream_workspace.pages import visible_or_404

bp = Blueprint("messages", __name__)


@bp.get("/messages")
def inbox():
    """List the messages the viewer received (``?box=sent``: the ones they sent)."""
    sent = request.args.get("box") == "sent"
    found = messages.inbox(actor(), sent=sent)
    return render_template(
        "workspace/messages.html",
        found=found,
        sent=sent,
        recipients=messages.recipients_of([message.id for message in found]),
        may_write=bool(messages.correspondents(actor())),
    )


@bp.get("/messages/<int:message_id>")
def message(message_id):
    """Show one message to its sender or one of its recipients (404 to anyone else)."""
    query = messages.visible_to(actor())
    found = visible_or_404(query, messages.PrivateMessage, message_id, "message")
    return render_template(
        "workspace/message.html",
        message=found,
        recipients=messages.recipients_of([found.id]).get(found.id, []),
    )


@bp.route("/messages/new", methods=["GET", "POST"])
def compose():
    """Show the compose form (``?to=<id>`` chooses a recipient), or send the message."""
    people = messages.correspondents(actor())
    to = {object_id(value) for value in request.args.getlist("to")} - {None}
    values = {"subject": request.args.get("subject", "")[:200], "body": "", "to": to}
    if request.method == "POST":
        values = {
            "subject": request.form.get("subject", ""),
            "body": request.form.get("body", ""),
            "to": {object_id(value) for value in request.form.getlist("to")} - {None},
        }
        try:
            sent = messages.send_private_message(
                actor(), chosen_many(people, "to"), values["subject"], values["body"]
            )
        except ValidationError as error:
            return render_form("workspace/message_form.html", error, people=people, values=values)
        flash("Message sent.")
        return redirect(url_for("workspace.messages.message", message_id=sent.id))
    return render_form("workspace/message_form.html", people=people, values=values)
