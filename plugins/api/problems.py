"""Errors of the API as ``application/problem+json`` (RFC 9457), each naming what was wrong.

``{"type": "about:blank", "title": …, "status": …, "detail": …, "errors": [{"field": …,
"message": …, "item": …}]}``: ``errors`` names each field refused (``item`` is the index of
the refused event in a batch), so a client can show or fix exactly that.
"""

import json

from flask import Response
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
}


class Problem(HTTPException):
    """An API refusal: raise it anywhere under ``/api/v1`` and the client gets it as JSON."""

    def __init__(self, status, detail, errors=(), headers=None):
        super().__init__(detail)
        self.code = status
        self.errors = list(errors)
        self.extra_headers = dict(headers or {})

    def get_response(self, environ=None, scope=None):
        """Return the problem as a JSON response."""
        return problem_response(self.code, self.description, self.errors, self.extra_headers)


def problem_response(status, detail, errors=(), headers=None):
    """Return a ``problem+json`` response of ``status`` with ``detail`` and the ``errors``
    (``{"field", "message"[, "item"]}`` dicts)."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail}  # fmt: skip
    if errors:
        body["errors"] = list(errors)
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="activity-stream"'
    return response


def as_problem(error):
    """Return any HTTP error raised under ``/api/v1`` (a 404 of Flask, a 413 of werkzeug) as
    a problem response; a ``Problem`` answers itself."""
    if isinstance(error, Problem):
        return error.get_response()
    if not isinstance(error, HTTPException):
        return problem_response(500, "The error has been logged. Please try again in a moment.")
    response = problem_response(error.code or 500, error.description or "")
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response
