"""Restore: ``POST /stream/activity/<id>/restore``, part of the Activity tab (the stream gate
answers first: sign in, Staff Members only, the tab visible).

Then, deny by default: the record must be one the viewer sees on the Activity tab (its one
query, through ``FEED.get``: 404 otherwise, as its Details), the viewer the owner or an admin
(403), the record not restored already (409) and one a plugin restores (its ``restore``
answers: 422 otherwise). The restore and its records commit in one transaction; a refusal (409, 422)
changes nothing and says why. To htmx the answer is a short message in place of the button;
without JavaScript a success goes to the restore's own record, a refusal is a page.
"""

import peewee
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask_login import current_user

from core.db import database
from core.events import RecordError
from core.forms import NOT_RECORDED
from core.forms import FieldError
from core.plugins import hooks
from core.shell import page_or_fragment
from plugins.activity.views import FEED
from plugins.restore.plans import CHANGED
from plugins.restore.plans import NEVER
from plugins.restore.plans import Refused
from plugins.restore.records import record_restore
from plugins.restore.records import restore_of

bp = Blueprint("restore", __name__, template_folder="templates", url_prefix="/stream/activity")

GATE_TAB = "activity"
NOT_RESTORABLE = (
    "This record cannot be restored: only a change of fields, or a deletion, of an object "
    "whose plugin restores it can."
)


# What reading a record of an unexpected shape raises: refused (422), never a 500.
UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError)
UNREADABLE_MESSAGE = "This record is not in a shape a restore can read."


@bp.post("/<int:record_id>/restore")
def restore_record(record_id):
    """Restore what record ``record_id`` recorded; answer what happened."""
    viewer = current_user._get_current_object()
    record = FEED.get(viewer, record_id)  # 404 unless the Activity tab shows it to the viewer
    if not viewer.is_admin:
        abort(403, "Only the Super Admin and Admins may restore from a record.")
    try:
        with database.atomic():
            events = restore(record, viewer)
    except Refused as refusal:
        return answer(record, refusal.message, refusal.status)
    except FieldError as error:  # a value the object's own rules refuse today
        return answer(record, f"Nothing was restored: {error}.", CHANGED)
    except UNREADABLE:  # a record whose shape its plugin did not expect
        current_app.logger.exception("record %s could not be read for a restore", record_id)
        return answer(record, UNREADABLE_MESSAGE, NEVER)
    except peewee.IntegrityError:  # a name or an id taken meanwhile by another request
        message = "Nothing was restored: the object changed meanwhile. Reload and try again."
        return answer(record, message, CHANGED)
    except RecordError:
        current_app.logger.exception("restore of record %s could not be recorded", record_id)
        return answer(record, NOT_RECORDED, 503)
    done = events[0]
    if not request.htmx:
        return redirect(f"{FEED.url()}/{done.id}", 303)
    return answer(record, None, 200, done=done)


def restore(record, actor):
    """Restore ``record`` as ``actor`` in the caller's transaction; return the restore's
    records (the object's first). Raise ``Refused``."""
    earlier = restore_of(record)
    if earlier is not None:
        raise Refused(f"This record was restored already (record #{earlier.id}).", CHANGED)
    # The plugin owning the object answers (``restore``, checking everything again): no answer
    # is no restore.
    restored = hooks(current_app).restore(event=record, actor=actor)
    if not restored:
        raise Refused(NOT_RESTORABLE, NEVER)
    return [record_restore(actor, item) for item in restored]


def answer(record, message, status, done=None):
    """Answer the restore of ``record``: the message in place of its button (htmx), else a
    page of the Activity tab saying it."""
    html = render_template(
        "restore/answer.html", record=record, message=message, done=done, feed_url=FEED.url()
    )
    return page_or_fragment(html), status
