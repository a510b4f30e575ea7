"""Outside the stream: a provider's signed delivery events, and lifting a suppression.

``POST /email/delivery-events`` takes a JSON list of events (docs/email.md, "Delivery truth"),
signed as log streams sign theirs (``core.signing``: ``Activity-Stream-Signature: t=<unix
seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``) with one of ``EMAIL_WEBHOOK_SECRETS``
(several during a rotation). It acts on no session and reads no cookie, so it has no CSRF
check; it only writes reports (``delivery.record``). Every refusal is JSON naming the problem.

``POST /email/suppressions/<id>/lift`` is Manage People's form (the owner and admins, CSRF
checked like every form): the address may be mailed again, recorded on the Activity tab.
"""

import json
from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from core import signing
from core.inputs import parse_id
from core.people import User
from plugins.email import delivery
from plugins.email import suppression
from plugins.email.models import EmailSuppression

bp = Blueprint("email_delivery", __name__, url_prefix="/email")

EVENTS_PATH = "/email/delivery-events"
MAX_EVENTS = 1000
LIMITS = {"id": 200, "message_id": 200, "recipient": 254, "detail": 500}


class Refused(Exception):
    """A request refused: its status and the message naming the problem."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def init_app(app):
    """Leave the events' URL out of the CSRF check (it is signed and acts on no session) and
    answer its errors as JSON."""
    from core.security import csrf_exempt
    from core.security import render_errors_under

    csrf_exempt(app, EVENTS_PATH)
    render_errors_under(app, EVENTS_PATH, _json_error)


def _json_error(error):
    code = error.code if isinstance(error, HTTPException) and error.code else 500
    message = error.description if code != 500 else "internal error; the event was not recorded"
    return jsonify({"error": message}), code


@bp.post("/delivery-events")
def delivery_events():
    """Record a provider's delivery events; answer what became of each (recorded, duplicate,
    unmatched: no message has that Message-ID, the event is kept all the same)."""
    config = current_app.config
    secrets = config["EMAIL_WEBHOOK_SECRETS"]
    if not secrets:
        return _refusal(404, "delivery events are not enabled here: no signing secret is set")
    try:
        body = _body(config["EMAIL_WEBHOOK_MAX_BODY"])
        signing.verify(
            secrets, request.headers.get(signing.HEADER), body, config["EMAIL_WEBHOOK_TOLERANCE"]
        )
        reports = parse_events(body)
    except (Refused, signing.BadSignature) as refused:
        return _refusal(refused.status, str(refused))
    results = []
    for report in reports:
        result, _ = delivery.record(report)
        results.append({"id": report.key.removeprefix("webhook:"), "result": result})
    count = {name: sum(r["result"] == name for r in results) for name in _RESULTS}
    return jsonify(
        {
            "received": len(results),
            **count,
            "unmatched_ids": [r["id"] for r in results if r["result"] == delivery.UNMATCHED],
            "results": results,
        }
    )


_RESULTS = (delivery.RECORDED, delivery.DUPLICATE, delivery.UNMATCHED)


def _refusal(status, message):
    return jsonify({"error": message}), status


def _body(limit):
    """Return the request's body, refusing one larger than ``limit`` bytes (413)."""
    if request.content_length is not None and request.content_length > limit:
        raise Refused(413, f"body: larger than {limit:,} bytes")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, f"body: larger than {limit:,} bytes")
    return body


def parse_events(body):
    """Return the ``delivery.Report`` of each event of the JSON ``body``; ``Refused`` (400)
    naming the first bad field (``events[2].type: …``)."""
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "body: not JSON") from None
    if not isinstance(events, list):
        raise Refused(400, "body: expected a JSON list of events")
    if not events:
        raise Refused(400, "body: the list holds no event")
    if len(events) > MAX_EVENTS:
        raise Refused(400, f"body: at most {MAX_EVENTS} events per request")
    return [_event(index, event) for index, event in enumerate(events)]


def _event(index, event):
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise Refused(400, f"{where}: expected an object")
    values = {}
    for name in ("id", "type", "message_id", "recipient", "occurred_at"):
        value = event.get(name)
        if not isinstance(value, str) or not value.strip():
            raise Refused(400, f"{where}.{name}: required, a non-empty string")
        values[name] = value.strip()
    for name, limit in LIMITS.items():
        if name in values and len(values[name]) > limit:
            raise Refused(400, f"{where}.{name}: at most {limit} characters")
    for name in ("detail", "status"):
        if isinstance(event.get(name), str):
            values[name] = event[name]
    for name, value in values.items():
        if "\x00" in value:
            raise Refused(400, f"{where}.{name}: holds a NUL character")
    if values["type"] not in delivery.EVENTS:
        raise Refused(
            400, f"{where}.type: one of {', '.join(delivery.EVENTS)}, got {values['type'][:40]!r}"
        )
    if "@" not in values["recipient"] or any(c.isspace() for c in values["recipient"]):
        raise Refused(400, f"{where}.recipient: expected an email address")
    detail = event.get("detail", "")
    if detail is None:
        detail = ""
    if not isinstance(detail, str) or len(detail) > LIMITS["detail"]:
        raise Refused(400, f"{where}.detail: a string of at most {LIMITS['detail']} characters")
    hard = event.get("hard", values["type"] == delivery.COMPLAINED or values["type"] == "bounced")
    if not isinstance(hard, bool):
        raise Refused(400, f"{where}.hard: true or false")
    status = event.get("status", "")
    if not isinstance(status, str) or len(status) > 32:
        raise Refused(400, f"{where}.status: a string of at most 32 characters (5.1.1)")
    return delivery.Report(
        key=f"webhook:{values['id']}",
        source="webhook",
        message_id=delivery.normal_message_id(values["message_id"]),
        recipient=values["recipient"],
        event=values["type"],
        hard=hard and values["type"] in (delivery.BOUNCED, delivery.COMPLAINED),
        action=values["type"],
        status_code=status,
        diagnostic=" ".join(detail.split()),
        occurred_at=_moment(values["occurred_at"], f"{where}.occurred_at"),
    )


def _moment(text, where):
    """Return ISO 8601 ``text`` (with its zone) as a UTC time without zone, as stored."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(
            400, f"{where}: expected an ISO 8601 time, e.g. 2026-12-05T21:30:00Z"
        ) from None
    if moment.tzinfo is None:
        raise Refused(400, f"{where}: needs its zone (Z or +01:00)")
    return moment.astimezone(UTC).replace(tzinfo=None)


# --- lifting a suppression: Manage People's form -------------------------------------------


@bp.post("/suppressions/<int:suppression_id>/lift")
def lift(suppression_id):
    """Lift a suppression (the owner and admins): the address may be mailed again."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, "Only the Super Admin and Admins lift a suppressed address.")
    row = EmailSuppression.get_or_none(
        EmailSuppression.id == parse_id(str(suppression_id), "suppression")
    )
    if row is None:
        abort(404, "There is no such suppression.")
    if row.lifted_at is not None:
        abort(409, "This suppression was lifted already.")
    person = User.get_or_none(User.email == row.address)
    if person is None:
        abort(409, "No person of the platform has this address any more: nothing to lift for.")
    suppression.lift(current_user._get_current_object(), row, person)
    flash(f"Email to {row.address} is no longer suppressed.")
    back = _person_page(person)
    return redirect(back, code=303)


def _person_page(person):
    if "people.persons.person" in current_app.view_functions:
        return url_for("people.persons.person", user_id=person.id)
    return url_for("stream.index")
