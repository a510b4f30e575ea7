"""Reading numbers from requests: one rule for every id in a URL, query string or form."""

from flask import abort

# Ids stay well inside every integer type on the way (SQLite and PostgreSQL bigint, the
# audience party number 2 * id + 1, JavaScript numbers in the browser).
MAX_ID = 2**53


def is_id(raw):
    """Tell whether ``raw`` spells a positive id (ASCII digits only: ``"²".isdigit()`` is True)."""
    text = str(raw)
    return text.isascii() and text.isdigit() and 0 < int(text) < MAX_ID


def parse_id(raw, field):
    """Return ``raw`` as an id, or answer 400 naming ``field``."""
    if not is_id(raw):
        abort(
            400, f"{field}: expected a whole number from 1 to {MAX_ID - 1}, got {str(raw)[:40]!r}"
        )
    return int(raw)
