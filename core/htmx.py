"""What an htmx request says about itself, as ``request.htmx``.

htmx sends ``HX-*`` headers with each request it makes (https://htmx.org/reference/#request_headers).
``request.htmx`` is true for such a request and names the parts the views and templates use:
whether a boosted link or form made it, which element it targets, which element triggered it.
"""

from functools import cached_property

from flask import Request


class HtmxHeaders:
    """The ``HX-*`` headers of one request; true when htmx made the request."""

    def __init__(self, headers):
        self._headers = headers

    def _flag(self, name):
        return self._headers.get(name, "false").lower() == "true"

    def __bool__(self):
        return self._flag("HX-Request")

    @property
    def boosted(self):
        """Whether a boosted link or form (``hx-boost``) made the request."""
        return self._flag("HX-Boosted")

    @property
    def target(self):
        """The ``id`` of the element the answer will be swapped into, or None."""
        return self._headers.get("HX-Target")

    @property
    def trigger(self):
        """The ``id`` of the element that triggered the request, or None."""
        return self._headers.get("HX-Trigger")

    @property
    def current_url(self):
        """The URL the browser showed when htmx sent the request, or None."""
        return self._headers.get("HX-Current-URL")


class HtmxRequest(Request):
    """Flask's request with ``htmx``: the request's ``HtmxHeaders``."""

    @cached_property
    def htmx(self):
        """The ``HtmxHeaders`` of this request (true when htmx made it)."""
        return HtmxHeaders(self.headers)


def init_app(app):
    """Make every request of ``app`` an ``HtmxRequest``."""
    app.request_class = HtmxRequest
