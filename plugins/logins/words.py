"""The sign-in log as people read it: waits in minutes or hours, lock ends in the reader's time
zone, the notices' kinds in words.

The recorder (``core.auth.views``) writes a row's detail once, for every reader: a wait in
seconds ("retry after 897 s") and a lock's end in UTC ("until 2026-12-05 03:41:59 UTC"). The
record keeps those words as written (it is sealed evidence); the tab, its detail view and its
exports phrase them for their reader when they show them.
"""

import re
from datetime import UTC
from datetime import datetime

from markupsafe import escape

from core.templating import actor_markup
from core.templating import local_time

# The kinds of notification the sign-in log's notices are sent as (``core.auth.mail``), as a
# list of mail names them. A new-client notice goes out for a new browser or a new country.
KIND_LABELS = {
    "login.new_client": "New browser or country",
    "login.locked": "Sign-in locked",
}

_RETRY = re.compile(r"\bretry after (\d+) s\b")
_UNTIL = re.compile(r"\buntil (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC\b")


def wait_words(seconds):
    """Return how long a wait of ``seconds`` reads, rounded as people say it: "40 seconds",
    "15 minutes" (897 s: a started minute counts, as the sign-in page says it), "2 hours",
    "3 days"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        count, unit = seconds, "second"
    elif seconds < 90 * 60:
        count, unit = -(-seconds // 60), "minute"
    elif seconds < 36 * 3600:
        count, unit = round(seconds / 3600), "hour"
    else:
        count, unit = round(seconds / 86400), "day"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def readable_detail(detail, zone=UTC):
    """Return a row's ``detail`` as its reader reads it: "retry after 897 s" as "told to try
    again in 15 minutes" (the wait the attempt was told, at its time), "until … UTC" as that
    moment in ``zone`` (the reader's, as the rest of the row), named as the row names its
    time ("until 2026-12-04 22:41:59 EST")."""
    if not detail:
        return ""
    detail = _RETRY.sub(lambda m: f"told to try again in {wait_words(m[1])}", detail)
    return _UNTIL.sub(lambda m: f"until {_in_zone(m[1], zone)}", detail)


def _in_zone(text, zone):
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    return local_time(moment, zone=zone)  # as the row shows its own time, the zone named


def unlock_sentence(event):
    """Return the Activity tab's sentence of an unlock ``event``: its actor (and role), then its
    summary, written in words when it was recorded ("lifted the lock of account dana@…")."""
    return actor_markup(event) + " " + escape(event.summary)
