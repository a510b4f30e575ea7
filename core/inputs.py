"""Reading numbers from requests: one rule for every id in a URL, query string or form.
(Days are read by the filters of each list tab: ``core.listing.filters``.)"""

import re

from flask import abort
from werkzeug.routing import BaseConverter

# Ids stay well inside every integer type on the way (SQLite and PostgreSQL bigint, the
# audience party number 2 * id + 1, JavaScript numbers in the browser).
MAX_ID = 2**53
MAX_ID_DIGITS = len(str(MAX_ID))

# A request's id: sent by a proxy (``X-Request-ID``) or made here; recorded with each action.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def is_id(raw):
    """Tell whether ``raw`` spells a positive id (ASCII digits only: ``"²".isdigit()`` is True)."""
    text = str(raw)
    # The length first: int() of thousands of digits is slow, and refused past 4,300.
    return (
        len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit() and 0 < int(text) < MAX_ID
    )


def parse_id(raw, field):
    """Return ``raw`` as an id, or answer 400 naming ``field``."""
    if not is_id(raw):
        abort(
            400, f"{field}: expected a whole number from 1 to {MAX_ID - 1}, got {str(raw)[:40]!r}"
        )
    return int(raw)


class IdConverter(BaseConverter):
    """``<int:…>`` in a URL: ASCII digits only (werkzeug's also takes "１"), at most as many as
    the largest id has; anything else does not match, so the URL is a 404."""

    regex = rf"[0-9]{{1,{MAX_ID_DIGITS}}}"
    weight = 50

    def to_python(self, value):
        """Return the id as an int."""
        return int(value)

    def to_url(self, value):
        """Return the id as digits."""
        return str(int(value))
