"""The Email tab on the feed machinery (``core.listing.feed``): rows, filter options, See Message.

Every route here starts from ``queries.visible_messages`` (through ``FEED.get`` for one
message), so an id the viewer may not see is a 404, as for one that does not exist.
``routes`` adds the frame, the row poll and Resend to the same blueprint, behind the gate.
"""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import request
from flask import url_for
from markupsafe import Markup
from markupsafe import escape

from core.db import database
from core.events import Ref
from core.events.reads import record_access
from core.inputs import is_id
from core.listing.feed import Feed
from core.listing.feed import iso_utc
from core.people import User
from core.plugins import hooks
from core.retention import Prune
from core.security import csrf_token
from core.templating import actor_markup
from core.templating import local_time
from plugins.email import mime
from plugins.email import queries
from plugins.email import suppression
from plugins.email.filters import FILTERS
from plugins.email.models import BOUNCED
from plugins.email.models import DELIVERIES
from plugins.email.models import DELIVERY_LABELS
from plugins.email.models import NO_REPORT
from plugins.email.models import PRIVATE_MESSAGE
from plugins.email.models import STATUS_LABELS
from plugins.email.models import STATUSES
from plugins.email.models import SUPPRESSED
from plugins.email.models import UNFINISHED
from plugins.email.models import EmailAttempt
from plugins.email.models import EmailDeliveryReport
from plugins.email.models import EmailMessage
from plugins.email.viewer import frame_height
from plugins.email.viewer import sanitise

bp = Blueprint(queries.TAB, __name__, template_folder="templates")
MAX_POLLS = 150  # a queued row polls every 2 s for at most 5 minutes, then waits for a reload


def kind_label(kind):
    """Return a kind as people read it: as the plugin sending it names it
    (``notification_kinds``), else from its name: ``task.assigned`` → "Task assigned"."""
    if kind == PRIVATE_MESSAGE:
        return "Private message"
    named = kind_names().get(kind)
    if named:
        return named
    return kind.replace(".", " ").replace("_", " ").capitalize()


def kind_names():
    """Return ``{kind: label}`` from every plugin's ``notification_kinds`` (once per app)."""
    names = current_app.extensions.get("notification_kinds")
    if names is None:
        names = {}
        for answer in hooks(current_app).notification_kinds():
            names.update(answer or {})
        current_app.extensions["notification_kinds"] = names
    return names


def prepare_rows(viewer, messages, polls=0):
    """Return what ``email/rows.html`` prints for each of ``messages`` (all prepared here, so
    the template only prints)."""
    zone = viewer.zone()
    base = url_for("stream.tab", tab=queries.TAB)
    # One CSRF token for every row's Resend form (read once, not once per row).
    token = csrf_token() if viewer.is_admin else None
    messages = list(messages)
    # Who may resend is told, per row, that an address is suppressed (one query a page).
    held = suppression.active_for(m.recipient_email for m in messages) if token else {}
    rows = []
    for message in messages:
        blocked = held.get(suppression.normal_address(message.recipient_email))
        rows.append(
            {
                "message": message,
                "local": local_time(message.queued_at, zone=zone),
                "kind": kind_label(message.kind),
                "status": STATUS_LABELS.get(message.status, message.status),
                "delivery": delivery_label(message),
                "detail_url": f"{base}/{message.id}",
                "poll_url": f"{base}/{message.id}/row?n={polls + 1}"
                if message.status in UNFINISHED and polls < MAX_POLLS
                else None,
                "resend_token": token if blocked is None else None,
                "resend_question": resend_question(message) if token else None,
                "suppressed_note": suppressed_note(blocked) if blocked is not None else None,
                "resent_note": None,
            }
        )
    return rows


def delivery_label(message):
    """Return the delivery badge's words ("Bounced"), or None when no report came."""
    delivery = getattr(message, "delivery", NO_REPORT) or NO_REPORT
    if delivery == NO_REPORT:
        return None
    return DELIVERY_LABELS.get(delivery, delivery)


def suppressed_note(row):
    """Return what stands in for Resend while the address is suppressed."""
    return (
        f"{row.address} is suppressed since {row.suppressed_at:%Y-%m-%d} ({row.reason}): "
        "lift it on Manage People to resend"
    )


def filter_options(viewer):
    """Return the filter bar's choices: people, kinds queued so far, statuses."""
    return {
        "people": [(u.id, u.name) for u in User.select(User.id, User.name).order_by(User.name)],
        "kinds": [(kind, kind_label(kind)) for kind in queries.kinds()],
        "statuses": [(status, STATUS_LABELS[status]) for status in STATUSES],
        "deliveries": [
            *((value, DELIVERY_LABELS[value]) for value in DELIVERIES),
            (SUPPRESSED, STATUS_LABELS[SUPPRESSED]),
        ],
    }


def record_message_read(reader, message):
    """Record that ``reader`` opened ``message`` (See Message, or its frame's URL): ``email.read``,
    an access event, once an hour per reader and message."""
    label = "a private message" if message.private else message.subject
    summary = f"to {message.recipient_name}"
    record_access(reader, "email.read", Ref("email", message.id, label), summary=summary)


# See Message's tabs: (name in ``?part=``, label). The HTML part first, as the recipient sees it.
PARTS = (("html", "HTML"), ("text", "Text"), ("headers", "Headers"), ("raw", "Raw"))
ATTEMPT_LABELS = {
    "sent": "Accepted",
    "temporary": "Temporary failure, tried again later",
    "permanent": "Refused for good",
    "kept": "Kept in the local outbox",
}
REPORT_SOURCES = {"dsn": "Bounce (DSN)", "webhook": "Provider event"}


def selected_part(args):
    """Return the tab of See Message that ``args`` (the query string) asks for, HTML by
    default; another value is a 400 naming the field."""
    part = args.get("part") or PARTS[0][0]
    if part not in dict(PARTS):
        abort(400, f"part: one of {', '.join(name for name, _ in PARTS)}")
    return part


def detail_context(viewer, message):
    """Return what ``email/detail.html`` shows: the header block (from, to, subject, date in
    the viewer's zone, Message-ID, status with every delivery attempt), the tabs HTML / Text /
    Headers / Raw (``?part=`` picks one; every tab's content is in the page), the attachments
    and the frame's URL and height. Opening it is recorded (``record_message_read``)."""
    record_message_read(viewer, message)
    sent = mime.build(message, current_app.config["MAIL_FROM"])
    safe, blocked = sanitise(message.html_body)
    held = suppression.active(message.recipient_email) if viewer.is_admin else None
    attempts = EmailAttempt.select().where(EmailAttempt.message == message.id)
    base = url_for("stream.tab", tab=queries.TAB)
    zone = viewer.zone()
    url = f"{base}/{message.id}"
    return {
        "message": message,
        "sender_header": str(sent["From"]),
        "recipient_header": str(sent["To"]),
        "date": local_time(message.queued_at, zone=zone),
        "zone_name": str(zone),
        "headers": [(name, str(value)) for name, value in sent.items()],
        "raw": mime.wire_bytes(sent).decode("ascii", "replace"),
        "attachments": mime.attachments(sent),
        "kind": kind_label(message.kind),
        "status": STATUS_LABELS.get(message.status, message.status),
        "attempts": [
            {
                "time": local_time(attempt.started_at, zone=zone),
                "utc": attempt.started_at,
                "result": ATTEMPT_LABELS.get(attempt.result, attempt.result),
                "code": attempt.result,
                "detail": attempt.detail,
            }
            for attempt in attempts.order_by(EmailAttempt.id)
        ],
        "finished": local_time(message.finished_at, zone=zone) if message.finished_at else None,
        "delivery": delivery_label(message),
        "delivery_at": local_time(message.delivery_at, zone=zone) if message.delivery_at else None,
        "reports": [
            {
                "received": local_time(report.received_at, zone=zone),
                "utc": report.received_at,
                "occurred": local_time(report.occurred_at, zone=zone) if report.occurred_at else "",
                "source": REPORT_SOURCES.get(report.source, report.source),
                "event": DELIVERY_LABELS.get(report.event, report.event),
                "code": report.event,
                "hard": report.hard,
                "action": report.action,
                "status_code": report.status_code,
                "diagnostic": report.diagnostic,
                "recipient": report.recipient,
            }
            for report in reports_of(message)
        ],
        "parts": PARTS,
        "part": selected_part(request.args),
        "detail_url": url,
        "eml_url": f"{url}.eml",
        "frame_url": f"{url}/body",
        "frame_height": frame_height(safe),
        "blocked": blocked,
        "may_resend": viewer.is_admin and held is None,
        "suppressed_note": suppressed_note(held) if held is not None else None,
        "resend_question": resend_question(message),
        "original_url": f"{base}/{message.resent_from}" if message.resent_from else None,
    }


def resend_question(message):
    """Return the question Resend asks first, naming the message and its recipient, and
    warning when the message bounced (the address may not take a copy either)."""
    question = f"Resend \u201c{message.subject}\u201d to {message.recipient_name}?"
    if getattr(message, "delivery", None) == BOUNCED:
        detail = message.delivery_detail or "bounced"
        question = f"This message bounced ({detail}). {question}"
    return question


def reports_of(message):
    """Return the delivery reports received about ``message`` (already visible), in order."""
    return (
        EmailDeliveryReport.select()
        .where(EmailDeliveryReport.message == message.id)
        .order_by(EmailDeliveryReport.id)
    )


def message_urls(refs):
    """Return ``{("email", id): url}`` for the outbox messages among ``refs`` that exist."""
    ids = {int(ref_id) for kind, ref_id in refs if kind == "email" and is_id(ref_id)}
    if not ids:
        return {}
    table = EmailMessage._meta.table_name
    marks = ", ".join([database.param] * len(ids))
    rows = database.execute_sql(f"SELECT id FROM {table} WHERE id IN ({marks})", sorted(ids))
    base = url_for("stream.tab", tab=queries.TAB)
    return {("email", str(row[0])): f"{base}/{row[0]}" for row in rows}


def describe_resend(event):
    """Return the Activity sentence of ``email.resent`` ``event``, the copy linked while it is
    in the outbox: "<actor> resent the email “<subject>” to <recipient>"."""
    url = message_urls([(event.object_type, event.object_id)]).get(
        (event.object_type, event.object_id)
    )
    label = escape(event.object_label)
    if url:
        label = Markup(f'<a href="{escape(url)}">{label}</a>')
    summary = event.summary or ""
    recipient = f" {escape(summary)}" if summary.startswith("to ") else ""
    return Markup(f"{actor_markup(event)} resent the email “{label}”{recipient}")


def as_data(viewer, messages):
    """Return ``messages`` as plain dicts for the API and exports, as ``viewer`` reads them on
    the tab. A full record (read by ``FEED.get``) also has what See Message shows: both parts
    (the HTML sanitised, remote images left out, as the frame shows it), the headers as sent
    and the delivery attempts. A Private Message's subject and contents are its parties'
    alone: ``visible_messages`` never gives one to anyone else, and should a list of rows
    reach here another way, they are left out all the same."""
    return [_message_data(viewer, message) for message in messages]


def _message_data(viewer, message):
    party = viewer.id in (message.sender_id, message.recipient_id)
    hidden = message.private and not party
    sender = None
    if message.sender_id is not None or message.sender_name:
        sender = {"id": message.sender_id, "name": message.sender_name}
    data = {
        "id": message.id,
        "queued_at": iso_utc(message.queued_at),
        "kind": message.kind,
        "kind_label": kind_label(message.kind),
        "private": message.private,
        "sender": sender,
        "recipient": {
            "id": message.recipient_id,
            "name": message.recipient_name,
            "email": message.recipient_email,
        },
        "subject": None if hidden else message.subject,
        "status": message.status,
        "status_label": STATUS_LABELS.get(message.status, message.status),
        "attempts": message.attempts,
        "finished_at": iso_utc(message.finished_at) if message.finished_at else None,
        "outcome": message.outcome,
        "resent_from": message.resent_from,
        "delivery": getattr(message, "delivery", NO_REPORT),
        "delivery_detail": getattr(message, "delivery_detail", ""),
        "delivery_at": iso_utc(message.delivery_at)
        if getattr(message, "delivery_at", None)
        else None,
    }
    if isinstance(message, EmailMessage):
        data.update(_contents(message, hidden))
    return data


def _contents(message, hidden):
    """Return what See Message shows beyond the row (nothing of a hidden message)."""
    if hidden:
        return {
            "text_body": None,
            "html_body": None,
            "headers": [],
            "delivery": [],
            "delivery_reports": [],
        }
    sent = mime.build(message, current_app.config["MAIL_FROM"])
    html, _ = sanitise(message.html_body)
    attempts = EmailAttempt.select().where(EmailAttempt.message == message.id)
    return {
        "text_body": message.text_body,
        "html_body": html,
        "headers": [{"name": name, "value": str(value)} for name, value in sent.items()],
        "delivery": [
            {
                "started_at": iso_utc(attempt.started_at),
                "finished_at": iso_utc(attempt.finished_at),
                "result": attempt.result,
                "detail": attempt.detail,
            }
            for attempt in attempts.order_by(EmailAttempt.id)
        ],
        "delivery_reports": [
            {
                "received_at": iso_utc(report.received_at),
                "occurred_at": iso_utc(report.occurred_at) if report.occurred_at else None,
                "source": report.source,
                "event": report.event,
                "hard": report.hard,
                "action": report.action,
                "status": report.status_code,
                "diagnostic": report.diagnostic,
                "recipient": report.recipient,
            }
            for report in reports_of(message)
        ],
    }


def delete_attempts(ids):
    """Delete the delivery attempts and reports of the messages ``ids`` (they go with the
    messages)."""
    EmailAttempt.delete().where(EmailAttempt.message.in_(ids)).execute()
    EmailDeliveryReport.delete().where(EmailDeliveryReport.message.in_(ids)).execute()


def describe_lift(event):
    """Return the Activity sentence of ``email.suppression_lifted``: "<actor> lifted the
    suppression of email to <person>" (the address and why it was suppressed in the summary)."""
    return Markup(
        f"{actor_markup(event)} lifted the suppression of email to {escape(event.object_label)}"
    )


EMPTY = "No email yet. Notifications and Private Messages will show up here."
FEED = Feed(
    name=queries.TAB,
    label="Email",
    noun="message",
    model=EmailMessage,
    records=queries.visible_messages,
    read=queries.LIST.read,
    filters=FILTERS,
    prepare_rows=prepare_rows,
    options=filter_options,
    detail_context=detail_context,
    as_data=as_data,
    empty_text=EMPTY,
    blueprint=bp,
    # By the time it was queued; a message still to be sent stays, however old, so the
    # sender never loses one it is about to send.
    prune=Prune(
        time=EmailMessage.queued_at,
        dependants=delete_attempts,
        keep=EmailMessage.status.in_(UNFINISHED),
    ),
)
