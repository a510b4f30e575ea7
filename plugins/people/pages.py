"""Helpers shared by the Manage Teams and Manage People pages."""

from flask import abort
from flask import render_template
from flask_login import current_user

from core.inputs import parse_id


def actor():
    """Return the signed-in user (the real object, not the proxy) for the services."""
    return current_user._get_current_object()


def found_or_404(model, raw_id, kind):
    """Return the ``model`` row with id ``raw_id``, else 404 naming ``kind``."""
    found = model.get_or_none(model.id == parse_id(raw_id, kind))
    if found is None:
        abort(404, f"There is no such {kind}.")
    return found


def render_form(template, error=None, **context):
    """Render a page with a form; with ``error`` (an ``Invalid``), show it and answer 400."""
    html = render_template(template, error=error, **context)
    return (html, 400) if error else html
