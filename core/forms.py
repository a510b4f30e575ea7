"""What the pages with forms share: the field error, the bounded text check, and the answers a
blueprint of pages gives when something is refused.

A service raises ``FieldError`` naming the field at fault; a form page shows it beside the
form and answers 400, and ``answer_refusals`` turns one raised anywhere else into a 400 page
naming the field, the pages' own refusal (a ``PermissionError``) into a 403 saying what was
refused, and a change whose record failed (``RecordError``) into a 503 saying nothing was
saved. Manage People (``plugins/people``) and the workspace example use them.
"""

import logging

from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException

from core.events import RecordError
from core.security import ERROR_TITLES

log = logging.getLogger(__name__)

NOT_RECORDED = (
    "Your change was not saved: it could not be written to the activity log, so nothing was "
    "changed. Please try again in a moment."
)


class FieldError(ValueError):
    """A field holds a value that cannot be accepted (400, naming the field)."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def bounded_text(value, field, limit, required=False):
    """Return ``value`` stripped; refuse it when empty and required, or longer than ``limit``."""
    value = (value or "").strip()
    if required and not value:
        raise FieldError(field, "must not be empty")
    if len(value) > limit:
        raise FieldError(field, f"must be at most {limit:,} characters")
    return value


def whole_error_page(code, message, title=None):
    """Render a whole error page (whole, so a boosted request swaps in a full page)."""
    title = title or ERROR_TITLES.get(code, "Something went wrong")
    return render_template("error.html", code=code, title=title, message=message), code


def answer_refusals(bp, name, denied_error, error_page=whole_error_page):
    """Answer what the views of ``bp`` raise through ``error_page(code, message, title=None)``:
    an HTTP error as itself, a ``FieldError`` as 400, ``denied_error`` (the pages' own
    ``PermissionError``, not any: an operating system's would tell its paths) as 403 and a
    ``RecordError`` as 503 (its cause logged with ``name``, the pages' name)."""

    def http_error(error):
        return error_page(error.code or 500, error.description)

    def denied(error):
        return error_page(403, str(error))

    def invalid(error):
        return error_page(400, str(error))

    def not_recorded(error):
        log.error("%s change on %s %s not recorded: %s", name, request.method, request.path, error)
        return error_page(503, NOT_RECORDED, title="Your change was not saved")

    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(FieldError, invalid)
    bp.register_error_handler(denied_error, denied)
    bp.register_error_handler(RecordError, not_recorded)
