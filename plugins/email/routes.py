"""The Email tab's own routes beside the feed's: a message's frame document, its source as an
``.eml`` file, one row (polled while the message is unfinished) and Resend. ``attach`` adds them
to the tab's blueprint, behind the gate, and all go through ``FEED.get``: a message the viewer
may not see is a 404."""

from flask import abort
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from core.db import database
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.inputs import parse_id
from core.people import User
from plugins.email import mime
from plugins.email import outbox
from plugins.email import suppression
from plugins.email.viewer import frame_policy
from plugins.email.viewer import sanitise
from plugins.email.viewer import sets_colours
from plugins.email.views import FEED
from plugins.email.views import MAX_POLLS
from plugins.email.views import prepare_rows
from plugins.email.views import record_message_read


def attach(feed):
    """Add the frame, the row poll and Resend to ``feed``'s blueprint (the Email tab's ``FEED``);
    once per process, before its first app."""
    feed.route("/<int:record_id>/body")(body)
    feed.route("/<int:record_id>.eml")(eml)
    feed.route("/<int:record_id>/row")(row)
    feed.route("/<int:record_id>/resend", methods=["POST"])(resend)


def body(record_id):
    """Answer the message's HTML, sanitised, as the document of its sandboxed frame.

    ``?images=remote`` keeps remote images (and the policy lets them load): the viewer asked.
    Opening it is recorded (``email.read``, an access event), once an hour per message.
    """
    message = FEED.get(current_user, record_id)
    record_message_read(current_user._get_current_object(), message)
    remote = request.args.get("images") == "remote"
    safe, _ = sanitise(message.html_body, remote_images=remote)
    # Dark when the reader prefers it, unless the sender chose colours: their dark text on a
    # dark ground would be unreadable, so such a message stays on the light ground it was
    # written for.
    follows = not sets_colours(safe)
    response = make_response(render_template("email/frame.html", body=safe, follows=follows))
    response.headers["Content-Security-Policy"] = frame_policy(remote)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def eml(record_id):
    """Answer the message's source, the bytes the sender hands to the SMTP server, as a
    ``message-<id>.eml`` download. Recorded as a read (``email.read``), as See Message is."""
    message = FEED.get(current_user, record_id)
    record_message_read(current_user._get_current_object(), message)
    response = make_response(mime.source(message, current_app.config["MAIL_FROM"]))
    response.headers["Content-Type"] = "message/rfc822"
    response.headers["Content-Disposition"] = f'attachment; filename="message-{message.id}.eml"'
    return response


def row(record_id):
    """Answer one row as it is now (htmx: a queued row polls this until it is finished)."""
    if not request.htmx:
        return redirect(url_for("email.detail", record_id=record_id))
    message = FEED.get(current_user, record_id)
    polls = parse_id(request.args["n"], "n") if request.args.get("n") else 0
    rows = prepare_rows(current_user, [message], min(polls, MAX_POLLS))
    return render_template("email/rows.html", rows=rows)


def resend(record_id):
    """Queue a fresh copy of a message (owner and admins), linked to it, and record that.

    Answers, to htmx from the list (``answer=row``), the copy's row (the list puts it at the
    top); to htmx from See Message as a page, a redirect to the copy's page; else a 303 there.
    """
    message = FEED.get(current_user, record_id)
    if not current_user.is_admin:
        abort(403, "Only the Super Admin and Admins may resend a message.")
    viewer = current_user._get_current_object()
    with database.atomic():
        recipient = _recipient(message)
        _refuse_suppressed(recipient)
        (copy_id,) = outbox.queue(
            [
                {
                    "kind": message.kind,
                    "private": message.private,
                    "sender_id": message.sender_id,
                    "sender_name": message.sender_name,
                    "recipient": recipient,
                    "subject": message.subject,
                    "text_body": message.text_body,
                    "html_body": message.html_body,
                }
            ],
            resent_from=message.id,
        )
        label = "a private message" if message.private else message.subject
        record_activity(
            viewer,
            "email.resent",
            Ref("email", copy_id, label),
            target=Ref("email", message.id, label),
            audience=Audience(users={message.recipient_id}),
            summary=f"to {message.recipient_name}",
        )
    copy_url = url_for("email.detail", record_id=copy_id)
    if not request.htmx:
        return redirect(copy_url, code=303)
    if request.form.get("answer") != "row":  # See Message as a page: go to the copy's page
        return "", 200, {"HX-Redirect": copy_url}
    # From the list: the copy's row, which htmx puts at the top; it polls like any queued row.
    copy = FEED.get(current_user, copy_id)
    rows = prepare_rows(current_user, [copy])
    rows[0]["resent_note"] = f"Resent: new copy #{copy.id} of message #{message.id}, queued."
    return render_template("email/rows.html", rows=rows)


def _refuse_suppressed(recipient):
    """Refuse (409) a resend to an address suppressed after a hard bounce, saying where to
    lift it: the copy would not be sent, and a Resend that sends nothing would mislead."""
    held = suppression.active(recipient.email)
    if held is None:
        return
    where = ""
    if "people.persons.person" in current_app.view_functions:
        where = f" ({url_for('people.persons.person', user_id=recipient.id)})"
    abort(
        409,
        f"Not resent: {held.address} is suppressed since {held.suppressed_at:%Y-%m-%d} after "
        f"{held.reason}. Lift the suppression on Manage People's page of "
        f"{recipient.name}{where} first, once the address is fixed.",
    )


def _recipient(message):
    """Return the message's recipient as stored now (a copy goes to the current address)."""
    found = User.get_or_none(User.id == message.recipient_id)
    if found is None:
        abort(409, "The recipient of this message is no longer a user of the platform.")
    return found
