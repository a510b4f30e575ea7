"""The API section's actions in Settings: make a token, revoke one (owner and admins).

The blueprint sits under ``/stream/settings/api`` and ``core.shell`` gates it as the Settings
tab (declared ``part_of_tab``): signed-out viewers are sent to sign in, anyone who does not see
Settings gets 403, before these views run. Each action answers htmx with the section (and the
status line out of band), and a browser without JavaScript with the whole Settings page.
"""

import unicodedata
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from functools import partial

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from core.db import database
from core.db import for_update
from core.db import utcnow
from core.shell import page_or_fragment
from core.shell import section_answer
from plugins.api import settings_section
from plugins.api.tokens import NAME_LIMIT
from plugins.api.tokens import SCOPES
from plugins.api.tokens import ApiToken
from plugins.api.tokens import create_token
from plugins.api.tokens import revoke_token

bp = Blueprint(
    "api_tokens", __name__, url_prefix="/stream/settings/api", template_folder="templates"
)

MAX_DAYS = 3650  # ten years: further off is "never" by another name


@bp.get("/tokens")
def tokens():
    """Send the viewer to the list, in Settings (the address bar after a form posted without
    JavaScript shows this URL)."""
    return redirect(url_for("stream.tab", tab="settings", _anchor="api"), 303)


@bp.post("/tokens")
def create():
    """Make a token for the signed-in viewer from the form; show it this once."""
    viewer = current_user._get_current_object()
    values, errors = read_form(request.form, viewer.zone())
    if errors:
        return _answer(viewer, 400, errors=errors, form=request.form)
    with database.atomic():
        row, token = create_token(viewer, by=viewer, **values)
    message = f"Token “{row.name}” made. Copy it now: it is shown only this once."
    return _answer(viewer, 200, created=(row, token), message=message)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id):
    """Revoke any token, once confirmed (htmx asks first and sends ``confirmed``; without
    JavaScript this answers a page asking, whose button sends it)."""
    found = settings_section.token_rows(ApiToken.id == token_id)
    if not found:
        abort(404, f"There is no API token {token_id}.")
    if request.form.get("confirmed") != "yes":
        return page_or_fragment(render_template("api/settings_confirm_revoke.html", item=found[0]))
    viewer = current_user._get_current_object()
    row, already = revoke_once(token_id, by=viewer)
    if row is None:  # deleted since it was read: nothing left to revoke
        abort(404, f"There is no API token {token_id}.")
    owner = found[0].person.name if found[0].person else "a deleted person"
    message = (
        f"Token “{row.name}” of {owner} was already revoked."
        if already
        else f"Token “{row.name}” of {owner} is revoked: it is refused from now on."
    )
    if not request.htmx:
        flash(message)
        return redirect(url_for("stream.tab", tab="settings", _anchor="api"), 303)
    return settings_section.render(viewer, message=message)


def revoke_once(token_id, by):
    """Revoke the token ``token_id`` on behalf of ``by`` (None: the command line); return
    ``(row, already)``: ``row`` None when there is no such token, ``already`` True when it was
    revoked before. The row is locked first, so two people revoking it at once record it once."""
    with database.atomic():
        row = for_update(ApiToken.select().where(ApiToken.id == token_id)).first()
        if row is None:
            return None, False
        already = row.revoked_at is not None
        revoke_token(row, by=by)
    return row, already


def read_form(form, zone):
    """Return ``({name, scope, expires_at}, {})`` from the posted form, or ``(None, errors)``
    with ``errors`` naming each field refused (``name``, ``scope``, ``expires_days``,
    ``expires_on``)."""
    errors = {}
    name = form.get("name", "").strip()
    if name_error(name):
        errors["name"] = name_error(name)
    scope = form.get("scope", "")
    if scope not in SCOPES:
        errors["scope"] = f"choose one of: {', '.join(SCOPES)}"
    expires_at = None
    days, on = form.get("expires_days", "").strip(), form.get("expires_on", "").strip()
    if days and on:
        errors["expires_on"] = "give a number of days or a date, not both"
    elif days:
        expires_at = _in_days(days, errors)
    elif on:
        expires_at = _on_date(on, zone, errors)
    if errors:
        return None, errors
    return {"name": name, "scope": scope, "expires_at": expires_at}, {}


def name_error(name):
    """Return why ``name`` (stripped) cannot name a token, or None."""
    if not 1 <= len(name) <= NAME_LIMIT:
        return f"give the token a name of 1 to {NAME_LIMIT} characters"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "a name holds no control characters (tabs, line breaks)"
    return None


def expiry_in_days(days):
    """Return the expiry of a token ending ``days`` days from now (UTC, naive)."""
    return utcnow() + timedelta(days=days)


def _in_days(raw, errors):
    # The length first: int() of thousands of digits is slow.
    if raw.isascii() and raw.isdigit() and len(raw) <= 5 and 1 <= int(raw) <= MAX_DAYS:
        return expiry_in_days(int(raw))
    errors["expires_days"] = f"a whole number of days from 1 to {MAX_DAYS}"
    return None


def _on_date(raw, zone, errors):
    """The token ends when the day ``raw`` begins, in the viewer's time zone."""
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    today = datetime.now(zone).date()
    if day is None:
        errors["expires_on"] = "a date written 2027-01-31"
    elif not today < day <= today + timedelta(days=MAX_DAYS):
        errors["expires_on"] = f"a date after today and at most {MAX_DAYS} days away"
    else:
        start = datetime.combine(day, time(0), tzinfo=zone)
        return start.astimezone(UTC).replace(tzinfo=None)
    return None


def _answer(viewer, status, **state):
    """Answer htmx with the section, else the whole Settings page showing it."""
    render = partial(settings_section.render, viewer)
    return section_answer(render, settings_section.STATE, status, **state)
