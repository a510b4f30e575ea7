"""Helpers shared by the workspace's page modules."""

from flask import abort
from flask import render_template
from flask_login import current_user


def actor():
    """Return the signed-in user (the real object, not the proxy) for the service layer."""
    return current_user._get_current_object()


def visible_or_404(query, model, object_id, kind):
    """Return the object ``object_id`` of the visibility ``query``, else 404."""
    found = query.where(model.id == object_id).first()
    if found is None:
        abort(404, f"There is no such {kind}, or it is not shared with you.")
    return found


def render_form(template, error=None, **context):
    """Render a form page; with ``error``, show it and answer 400."""
    html = render_template(template, error=error, **context)
    return (html, 400) if error else html
