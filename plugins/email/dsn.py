"""Reading a delivery status notification (RFC 3464) with the standard library's ``email``.

A DSN is a ``multipart/report; report-type=delivery-status``: a part for people, a
``message/delivery-status`` part (one block of per-message fields, then one block per
recipient: ``Final-Recipient``, ``Action``, ``Status``, ``Diagnostic-Code``…) and the returned
message (``message/rfc822``) or its headers alone (``text/rfc822-headers``), whose
``Message-ID`` is ours. ``parse`` returns the recipients' reports as ``delivery.Report``
objects, or raises ``Unusable`` naming what is missing: such a message is skipped and counted,
never a crash.

``Action`` failed → bounced (hard when its ``Status`` is 5.x.x, soft for 4.x.x), delayed →
deferred, delivered → delivered; relayed and expanded (passed on to a system that reports no
further) → delivered, the action kept in the report.
"""

import email
import email.policy
import re
from email.parser import HeaderParser
from email.utils import parsedate_to_datetime

from plugins.email.delivery import BOUNCED
from plugins.email.delivery import DEFERRED
from plugins.email.delivery import DELIVERED
from plugins.email.delivery import Report
from plugins.email.delivery import normal_message_id

STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}")
ACTIONS = {
    "failed": BOUNCED,
    "delayed": DEFERRED,
    "delivered": DELIVERED,
    "relayed": DELIVERED,
    "expanded": DELIVERED,
}
MAX_BYTES = 10 * 1024 * 1024  # a bounce larger than this is not read (a returned attachment)


class Unusable(ValueError):
    """The message holds no usable delivery report (the message says what is missing)."""


def parse(raw):
    """Return the ``delivery.Report`` of each recipient block of the DSN ``raw`` (bytes)."""
    if len(raw) > MAX_BYTES:
        raise Unusable(f"larger than {MAX_BYTES:,} bytes")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as error:  # the parser is lenient; anything it still raises is skipped
        raise Unusable(f"not a message: {error}") from None
    if message.get_content_type() != "multipart/report":
        raise Unusable(f"not a report: {message.get_content_type()}")
    if (message.get_param("report-type") or "").lower() != "delivery-status":
        raise Unusable(f"report-type {message.get_param('report-type')!r}, not delivery-status")
    status_part = original = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            status_part = status_part or part
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/global-headers"):
            original = original or part
    if status_part is None:
        raise Unusable("no message/delivery-status part")
    blocks = _blocks(status_part)
    if len(blocks) < 2:
        raise Unusable("no per-recipient fields in the delivery-status part")
    per_message, recipients = blocks[0], blocks[1:]
    message_id = normal_message_id(_original_message_id(original))
    if not message_id:
        raise Unusable("the returned message has no Message-ID")
    own_id = normal_message_id(message.get("Message-ID", "")) or _fallback_id(message)
    arrival = _date(per_message.get("Arrival-Date") or message.get("Date"))
    reports = []
    for block in recipients:
        report = _recipient_report(block, own_id, message_id, arrival)
        if report is not None:
            reports.append(report)
    if not reports:
        raise Unusable("no recipient block with an Action this reader knows")
    return reports


def _blocks(part):
    """Return the delivery-status part's field blocks as ``{field: value}`` dicts (case-
    insensitive), whichever way the parser held them."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [{k.lower(): str(v) for k, v in block.items()} for block in payload]
    if not isinstance(payload, str):
        payload = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    text = payload
    blocks = []
    for chunk in re.split(r"\r?\n\s*\r?\n", text.strip()):
        fields = HeaderParser().parsestr(chunk.strip() + "\n")
        if fields.keys():
            blocks.append({k.lower(): str(v) for k, v in fields.items()})
    return blocks


def _original_message_id(part):
    if part is None:
        return ""
    if part.get_content_type() in ("message/rfc822",):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if inner is not None:
            return str(inner.get("Message-ID", ""))
        return ""
    text = part.get_payload(decode=True) or b""
    headers = HeaderParser().parsestr(text.decode("utf-8", "replace"))
    return str(headers.get("Message-ID", ""))


def _recipient_report(block, own_id, message_id, arrival):
    action = " ".join(block.get("action", "").split()).lower()
    event = ACTIONS.get(action)
    if event is None:
        return None
    recipient = _address(block.get("final-recipient") or block.get("original-recipient", ""))
    status = " ".join(block.get("status", "").split())
    diagnostic = _address(block.get("diagnostic-code", ""))
    matched = STATUS.match(status)
    hard = event == BOUNCED and matched is not None and matched.group(1) == "5"
    if action in ("relayed", "expanded"):
        diagnostic = f"{action}: {diagnostic}" if diagnostic else action
    return Report(
        key=f"dsn:{own_id} {recipient.lower()} {action}",
        source="dsn",
        message_id=message_id,
        recipient=recipient,
        event=event,
        hard=hard,
        action=action,
        status_code=status[:32],
        diagnostic=" ".join(diagnostic.split()),
        occurred_at=_date(block.get("last-attempt-date")) or arrival,
    )


def _address(value):
    """Return a field's value without its type (``rfc822; a@b`` → ``a@b``, ``smtp; 550 …``
    → ``550 …``), on one line."""
    value = " ".join((value or "").split())
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else value


def _fallback_id(message):
    """A DSN without a Message-ID of its own is keyed by its sender and date."""
    return f"{message.get('From', '')}|{message.get('Date', '')}"


def _date(value):
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is not None:
        from datetime import UTC

        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
