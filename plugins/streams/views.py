"""The Log streams section of Settings and its actions (the owner and admins).

The blueprint sits under ``/stream/settings/streams``, gated by ``core.shell`` as the Settings
tab (declared ``part_of_tab``); each action also requires an owner or admin (deny by default).
A destination added here reads the records as the person who added it sees them.

- ``POST /destinations``: add one (its secret shown once when made here);
- ``POST /destinations/<id>/test``: send it a signed test record now;
- ``POST /destinations/<id>/pause`` and ``/resume``;
- ``POST /destinations/<id>/remove``: remove it (htmx asks first);
- ``GET /destinations/<id>/deliveries``: its delivery log.

Each answers htmx with the section, and a browser without JavaScript with the Settings page.
"""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup

from core.db import database
from core.people import User
from core.shell import page_or_fragment
from core.shell import section_answer
from core.tabs import visible_tabs
from plugins.streams import delivery
from plugins.streams import destinations
from plugins.streams.models import ACTIVE
from plugins.streams.models import PAUSED
from plugins.streams.models import StreamDelivery
from plugins.streams.models import StreamDestination
from plugins.streams.record import record_change

bp = Blueprint(
    "streams", __name__, url_prefix="/stream/settings/streams", template_folder="templates"
)
STATE = "streams_state"
LOG_ROWS = 20


def sections(viewer):
    """Return the section for ``viewer``, as a list: empty unless they are the owner or an
    admin."""
    if not viewer.is_admin:
        return []
    return [render(**g.get(STATE, {}))]


def render(message=None, errors=None, form=None, created=None, log_of=None):
    """Render the section: the destinations, the form adding one, and what an action said."""
    viewer = current_user._get_current_object()
    rows = list(StreamDestination.select().order_by(StreamDestination.id))
    owners = {u.id: u for u in User.select().where(User.id.in_([r.owner_id for r in rows]))}
    html = render_template(
        "streams/section.html",
        destinations=rows,
        owners=owners,
        tabs=[tab for tab in destinations.list_tabs() if tab in visible_tabs(viewer)],
        message=message,
        errors=errors or {},
        form=form or {},
        created=created,
        log_of=log_of,
        deliveries=_deliveries(log_of) if log_of else [],
        labels={tab.name: tab.label for tab in destinations.list_tabs()},
    )
    return Markup(html)


def _deliveries(destination_id):
    query = StreamDelivery.select().where(StreamDelivery.destination_id == destination_id)
    return list(query.order_by(StreamDelivery.id.desc()).limit(LOG_ROWS))


def _admin():
    viewer = current_user._get_current_object()
    if not viewer.is_admin:
        abort(403, "Only the Super Admin and Admins manage log streams.")
    return viewer


def _destination(destination_id):
    found = StreamDestination.get_or_none(StreamDestination.id == destination_id)
    if found is None:
        abort(404, f"There is no log stream {destination_id}.")
    return found


def _kick():
    kick = current_app.extensions.get("streams.kick")
    if kick is not None:
        kick()


@bp.get("/")
def index():
    """Send the viewer to the section, in Settings."""
    return redirect(url_for("stream.tab", tab="settings", _anchor="streams"), 303)


@bp.post("/destinations")
def add():
    """Add a destination from the form, read as the signed-in admin sees the stream."""
    viewer = _admin()
    form = request.form
    secret = form.get("secret", "").strip()
    made = not secret
    try:
        with database.atomic():
            destination = destinations.add(
                viewer,
                form.get("name", ""),
                form.get("url", ""),
                tabs=form.getlist("tabs"),
                query=form.get("query", ""),
                secret=destinations.new_secret() if made else secret,
                created_by=viewer,
            )
            record_change(viewer, "created", destination)
    except destinations.Refused as refused:
        kept = {**form.to_dict(), "tabs": form.getlist("tabs")}
        return section_answer(render, STATE, 400, errors=refused.errors, form=kept)
    _kick()
    message = f"Log stream “{destination.name}” added: it sends what happens from now on."
    return section_answer(
        render, STATE, message=message, created=(destination, made), log_of=destination.id
    )


@bp.post("/destinations/<int:destination_id>/test")
def test(destination_id):
    """Send the destination a signed test record now and say what it answered."""
    _admin()
    destination = _destination(destination_id)
    answer = delivery.send_test(destination, current_app.extensions["streams.settings"])
    if answer.ok:
        message = (
            f"Test record sent to “{destination.name}”: answered {answer.status}"
            f" in {answer.latency_ms} ms."
        )
    else:
        message = f"The test record was not taken by “{destination.name}”: {answer.error}."
    return section_answer(
        render, STATE, 200 if answer.ok else 502, message=message, log_of=destination.id
    )


@bp.post("/destinations/<int:destination_id>/pause")
def pause(destination_id):
    """Stop sending to the destination; its records wait."""
    viewer = _admin()
    destination = _destination(destination_id)
    with database.atomic():
        paused = (
            StreamDestination.update(state=PAUSED, paused_reason=f"paused by {viewer.name}")
            .where((StreamDestination.id == destination_id) & (StreamDestination.state == ACTIVE))
            .execute()
        )
        if paused:
            record_change(viewer, "paused", destination)
    message = f"“{destination.name}” paused: its records wait until it is resumed."
    return section_answer(render, STATE, message=message if paused else "It was paused already.")


@bp.post("/destinations/<int:destination_id>/resume")
def resume(destination_id):
    """Send to the destination again, from where it stopped."""
    viewer = _admin()
    destination = _destination(destination_id)
    with database.atomic():
        resumed = delivery.resume(destination_id)
        if resumed:
            record_change(viewer, "resumed", destination)
    _kick()
    message = f"“{destination.name}” resumed: it sends from where it stopped."
    return section_answer(render, STATE, message=message if resumed else "It was active already.")


@bp.post("/destinations/<int:destination_id>/remove")
def remove(destination_id):
    """Remove the destination and its delivery log."""
    viewer = _admin()
    destination = _destination(destination_id)
    with database.atomic():
        destinations.remove(destination_id)
        record_change(viewer, "deleted", destination)
    return section_answer(render, STATE, message=f"Log stream “{destination.name}” removed.")


@bp.get("/destinations/<int:destination_id>/deliveries")
def deliveries(destination_id):
    """Show the destination's latest deliveries (to htmx the section with the log open)."""
    _admin()
    destination = _destination(destination_id)
    html = render(log_of=destination.id)
    return html if request.htmx else page_or_fragment(html)
