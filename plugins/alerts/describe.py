"""One line per record, in the reader's words, for alert and digest mail.

Each record gets a plain-text line, its HTML (escaped), its time in the reader's zone and a
link to it (``PUBLIC_URL`` + ``/stream/<tab>/<id>``: mail is queued by the task queue, which
has no request to take the host from). The Activity tab's own sentence is used for its
events; Logins and Email rows get a line of their fields; any other tab a sensible fallback.
"""

from datetime import datetime

from flask import current_app
from markupsafe import Markup
from markupsafe import escape

from core.templating import local_time


def public_url(path):
    """Return ``path`` under the app's ``PUBLIC_URL``."""
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def describe_records(feed, viewer, pairs):
    """Return ``[{"text", "html", "when", "url"}]`` for ``pairs`` of ``(row, data)`` (a row as
    the feed read it, its data as ``feed.records_data`` gave it to ``viewer``)."""
    phrase = PHRASERS.get(feed.name, _fallback)
    zone = viewer.zone()
    lines = []
    for row, data in pairs:
        html = phrase(feed, viewer, row, data)
        lines.append(
            {
                "html": html,
                "text": Markup(html).striptags(),
                "when": local_time(_moment(row), fmt="%Y-%m-%d %H:%M %Z", zone=zone),
                "url": public_url(f"/stream/{feed.name}/{row.id}"),
            }
        )
    return lines


def _moment(row):
    """Return the row's first time value (when the record happened)."""
    values = row._asdict() if hasattr(row, "_asdict") else dict(row.__data__)
    for value in values.values():
        if isinstance(value, datetime):
            return value
    return None


def _activity(feed, viewer, row, data):
    """The Activity tab's own sentence, as ``viewer`` reads it: labels and summary from the
    data (team names already hidden from those who may not see them), no links (the mail's
    link is the record's)."""
    from plugins.activity.describe import describe

    event = row
    if hasattr(row, "_replace"):
        event = row._replace(
            object_label=data["object"]["label"],
            target_label=(data.get("target") or {}).get("label", row.target_label),
            summary=data.get("summary"),
        )
    sentence = describe(event, {}, viewer)
    summary = data.get("summary")
    if summary:
        sentence = Markup(f"{sentence}: {escape(summary)}")
    return Markup(sentence)


def _logins(feed, viewer, row, data):
    """Outcome, whose account (or the name typed), IP and country."""
    who = (data.get("user") or {}).get("name") or data.get("name_typed") or "unknown account"
    where = data.get("ip") or "unknown IP"
    if data.get("country"):
        where += f" ({data['country']})"
    flags = ", ".join(data.get("flags") or ())
    line = f"{data.get('outcome_label') or data.get('outcome')}: {who} from {where}"
    return escape(line + (f" — {flags}" if flags else ""))


def _email(feed, viewer, row, data):
    """The subject and the recipient (a Private Message's subject is its parties' alone)."""
    subject = data.get("subject")
    recipient = data.get("recipient") or {}
    to = recipient.get("name") or recipient.get("email") or "someone"
    shown = f"“{subject}”" if subject is not None else "A private message"
    return escape(f"{shown} to {to} ({data.get('status_label') or data.get('status')})")


def _fallback(feed, viewer, row, data):
    """Any other tab: its summary, title, name or subject, else "<noun> #<id>"."""
    for key in ("summary", "title", "name", "subject", "label"):
        if isinstance(data.get(key), str) and data[key]:
            return escape(f"{feed.noun.capitalize()}: {data[key]}")
    return escape(f"{feed.noun.capitalize()} #{row.id}")


PHRASERS = {"activity": _activity, "logins": _logins, "email": _email}
