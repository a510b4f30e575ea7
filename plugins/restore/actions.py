"""What a record's Details show of restores (the ``record_actions`` hook): on a restore, the
record it undid; on a record restored already, the restore; else, to the owner and admins,
Restore (or why it cannot be restored) when a plugin restores that kind of record."""

from flask import current_app
from flask import render_template
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from core.events import ActivityEvent
from core.plugins import hooks
from plugins.activity.queries import visible_events
from plugins.activity.views import FEED
from plugins.restore.plans import Refused
from plugins.restore.records import restore_of
from plugins.restore.records import undone_by
from plugins.restore.views import UNREADABLE
from plugins.restore.views import UNREADABLE_MESSAGE


def record_actions(viewer, event):
    """Return the Restore part of ``event``'s Details as ``viewer`` may use it, or None."""
    context = {"event": event, "url": f"{FEED.url()}/{event.id}/restore"}
    undid = undone_by(event)
    if undid is not None:
        context.update(undid=undid, undid_url=_url_if_seen(viewer, undid))
    elif not viewer.is_admin:
        return None
    else:
        restored_by = restore_of(event)
        if restored_by is not None:
            context.update(
                restored_by=restored_by, restored_url=_url_if_seen(viewer, restored_by.id)
            )
        else:
            try:
                context["plan"] = hooks(current_app).restore_plan(event=event)
            except Refused as refusal:
                context["refusal"] = refusal.message
            except UNREADABLE:  # the Details still open; Restore answers why
                current_app.logger.exception("record %s could not be read for a restore", event.id)
                context["refusal"] = UNREADABLE_MESSAGE
            if not context.get("plan") and not context.get("refusal"):
                return None
    return Markup(render_template("restore/actions.html", **context))


def _url_if_seen(viewer, event_id):
    """Return the Details URL of record ``event_id`` when ``viewer`` sees it (the Activity
    tab's one query), else None: a record they may not see is named, never linked."""
    query = visible_events(
        viewer,
        FEED.filters_of(MultiDict(), viewer),
        columns=[ActivityEvent.id],
        older_than=event_id + 1,
        newer_than=event_id - 1,
    )
    return f"{FEED.url()}/{event_id}" if query.exists() else None
