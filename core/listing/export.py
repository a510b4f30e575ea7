"""Exports: a list tab's rows as CSV or JSON Lines, exactly the rows its panel lists for the
same filters and viewer, streamed in keyset batches with constant memory, and recorded.

``Feed`` adds ``/stream/<tab>/export?format=csv|jsonl&<filters>`` to every list tab (behind the
stream gate, like the tab's other routes). The rows come from the tab's ``records`` for the
signed-in viewer, ``EXPORT_BATCH_ROWS`` at a time by id (``older_than`` the last id sent), and are
written through the tab's ``records_data``, so an export shows what the panel shows and no more.

Consistency: the first batch reads up to the table's commit horizon H (``core.listing.sql``'s
``bounded``); every later batch reads below the last id sent. So an export holds each row at
most once, in id order (newest first), and exactly the visible rows with ids below H: a row
committing during the export is never in it (its id is H or more), and no row below H can
commit later. Each batch reads rows as they are when it runs (no long transaction is held:
a row edited meanwhile, an Email status say, shows its state at its batch).
"""

import csv
import io
import json
import logging
import re
from datetime import UTC
from datetime import date
from datetime import datetime

from flask import Response
from flask import abort
from flask import current_app
from flask import stream_with_context

from core.db import utcnow
from core.events import Ref
from core.events.reads import record_access
from core.search.language import Search
from core.search.language import Term
from core.search.language import parse

log = logging.getLogger(__name__)

FORMATS = {
    "csv": ("text/csv; charset=utf-8; header=present", "CSV"),
    "jsonl": ("application/x-ndjson", "JSON Lines"),
}
# A cell starting with one of these is read as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")
LOCAL_SUFFIX = "_local"


def export_format(args):
    """Return the ``format`` of the query string ``args`` (``csv``, the default, or ``jsonl``);
    another is a 400 naming it."""
    fmt = args.get("format") or "csv"
    if fmt not in FORMATS:
        abort(400, f"format: expected csv or jsonl, got {fmt[:20]!r}")
    return fmt


def download(feed, viewer, filters, fmt, after=None):
    """Answer the streamed download of ``feed``'s rows that ``viewer`` may see under the read
    ``filters``, as ``fmt`` (a key of ``FORMATS``), from below the id ``after`` if given (to
    resume an export cut short); recorded when it ends."""
    batches = keyset_batches(feed, viewer, filters, batch_rows(), after)
    first = next(batches)  # read now: a failing query is an error page, not a cut file
    count = [0]

    def rows_data():
        for rows in _chained(first, batches):
            data = feed.records_data(viewer, rows)
            count[0] += len(data)
            yield data

    return recorded_download(
        writer_of(feed, viewer, fmt).chunks(rows_data()),
        FORMATS[fmt][0],
        file_name(feed, fmt),
        lambda outcome: record_export(feed, viewer, filters, fmt, count[0], outcome),
    )


def recorded_download(chunks, content_type, name, record):
    """Answer ``chunks`` (bytes) as the streamed attachment ``name``, and call
    ``record(outcome)`` once the stream ends: ``complete``, ``aborted by the client`` (the
    server closes the generator when the connection drops) or ``failed``."""
    response = Response(stream_with_context(_recorded(chunks, record)), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy passes each batch on as it comes
    return response


def writer_of(feed, viewer, fmt):
    """Return the writer of ``fmt`` for ``viewer`` (CSV's local times are in their zone)."""
    return CsvWriter(feed, viewer.zone()) if fmt == "csv" else JsonLinesWriter()


def file_name(feed, fmt):
    """Return the download's file name: the tab and the time of the export, ``activity-20261204T
    101500Z.csv``."""
    return f"{feed.name}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}.{fmt}"


def batch_rows():
    """Return the rows per batch (the ``EXPORT_BATCH_ROWS`` setting, checked at start-up)."""
    return current_app.config["EXPORT_BATCH_ROWS"]


def keyset_batches(feed, viewer, filters, size, cursor=None):
    """Yield the rows ``viewer`` may see under ``filters`` in lists of up to ``size``, newest
    first, each read by ``feed.records`` below the last id of the one before (the first at
    the commit horizon, or below ``cursor``); always yields at least one list (maybe empty)."""
    while True:
        rows = feed.read(feed.records(viewer, filters, older_than=cursor, limit=size))
        yield rows
        if len(rows) < size:
            return
        cursor = rows[-1].id


def _chained(first, rest):
    yield first
    yield from rest


def _recorded(chunks, record):
    """Yield ``chunks``, then ``record`` the outcome."""
    outcome = "aborted by the client"
    try:
        yield from chunks
        outcome = "complete"
    except Exception:
        outcome = "failed"
        raise
    finally:
        try:
            record(outcome)
        except Exception:  # the download's answer is sent already; keep the error in the log
            log.exception("could not record a download's outcome (%s)", outcome)


def record_export(feed, viewer, filters, fmt, rows, outcome="complete"):
    """Record on the event store that ``viewer`` exported ``rows`` rows of ``feed`` under
    ``filters`` as ``fmt``: ``tab.exported`` on the tab, its query and outcome in the change
    set, as an access event (seen by the Super Admin and Admins only). A qualifier some roles
    may not use (``team:``) is recorded by id, never by name, as in every access event."""
    query = recorded_query(feed, filters)
    noun = feed.noun if rows == 1 else f"{feed.noun}s"
    summary = f"{rows:,} {noun} as {FORMATS[fmt][1]}, " + (
        f"filtered by {query}" if query else "unfiltered"
    )
    if outcome != "complete":
        summary += f" ({outcome})"
    changes = {
        "format": [None, fmt],
        "query": [None, query],
        "rows": [None, rows],
        "outcome": [None, outcome],
    }
    record_access(
        viewer,
        "tab.exported",
        Ref("tab", feed.name, feed.label),
        changes=changes,
        summary=summary,
        once_within=None,  # each export is a file leaving the platform
    )


def recorded_query(feed, filters):
    """Return the search box's text of ``filters`` with each restricted qualifier's terms
    (a ``Named`` one with a ``visible`` rule) written by id: ``team:#3``."""
    restricted = [q for q in feed.filters.qualifiers if getattr(q, "visible", None)]
    keys = {q.key for q in restricted}
    terms = [term for term in parse(filters.query).terms if term.key not in keys]
    for qualifier in restricted:
        for negated, ids in ((False, filters.values), (True, filters.excluded)):
            terms += [Term(qualifier.key, f"#{i}", negated) for i in ids[qualifier.key]]
    return Search(terms).text()


# Writers: each turns batches of plain dicts into encoded chunks, one chunk per batch.


class JsonLinesWriter:
    """JSON Lines: one JSON object per row and line, UTF-8."""

    def chunks(self, batches):
        """Yield one encoded chunk per batch of rows."""
        dumps = json.JSONEncoder(ensure_ascii=False, default=_json_default).encode
        for data in batches:
            if data:
                yield ("\n".join(map(dumps, data)) + "\n").encode("utf-8")


class CsvWriter:
    """RFC 4180 CSV (CRLF, quotes doubled), UTF-8 with a byte order mark, a header row.

    Columns are the first row's keys; each time column (a datetime, or ISO 8601 UTC text)
    is followed by ``<name>_local``, the same moment in the viewer's ``zone``. Nested values
    are JSON text. A text cell starting with ``= + - @``, a tab or a carriage return gets a
    leading ``'``, so a spreadsheet shows it instead of running it as a formula.
    """

    def __init__(self, feed, zone):
        self.feed = feed
        self.local = LocalTimes(zone)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.plan = None  # (column, cell function) per CSV column

    def chunks(self, batches):
        """Yield the BOM and header with the first batch, then one encoded chunk per batch."""
        for data in batches:
            head = ""
            if self.plan is None:
                head = "\ufeff" + self._start(data)
            rows = self._rows(data) if data else ""
            if head or rows:
                yield (head + rows).encode("utf-8")

    def _start(self, data):
        """Fix the columns from the first batch; return the header line."""
        columns = list(data[0]) if data else _list_columns(self.feed)
        model_times = {
            name
            for name, field in self.feed.model._meta.fields.items()
            if field.field_type == "DATETIME"
        }
        self.plan, header = [], []
        for name in columns:
            if name in model_times or any(_is_time(row.get(name)) for row in data):
                self.plan += [(name, utc_cell), (name, self.local.cell)]
                header += [name, name + LOCAL_SUFFIX]
            else:
                self.plan.append((name, cell))
                header.append(name)
        return self._write([[cell(name) for name in header]])

    def _rows(self, data):
        """Return ``data`` as CSV lines: one comprehension per row, the hot path."""
        plan = self.plan
        return self._write([[convert(row.get(name)) for name, convert in plan] for row in data])

    def _write(self, lines):
        self.writer.writerows(lines)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


_encode_json = json.JSONEncoder(
    ensure_ascii=False, default=lambda value: _json_default(value)
).encode


def cell(value):
    """Return ``value`` as a CSV cell: text neutralised, nested values as JSON, None empty."""
    kind = type(value)
    if kind is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if kind is int or kind is float or kind is bool:
        return value  # a number is never a formula; the csv module writes it as it is
    if kind is dict or kind is list or kind is tuple:
        return _encode_json(value)  # starts with { or [: never a formula
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    value = str(value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def utc_cell(value):
    """Return a time (a naive UTC datetime, or ISO 8601 UTC text) as ISO 8601 UTC text."""
    if type(value) is str and len(value) == 20 and value[19] == "Z":
        return value
    return _utc_text(value) if isinstance(value, datetime) else cell(value)


class LocalTimes:
    """ISO 8601 UTC text to the same moment in ``zone``, with its offset.

    Offsets are whole minutes and change on minute boundaries, so the local text of a
    moment is its minute's local text (computed once per minute seen, in a bounded cache)
    plus its seconds: a dictionary look-up per cell instead of a time zone conversion.
    """

    LIMIT = 4096  # minutes kept: an export's rows come in time order, so few are ever reused

    def __init__(self, zone):
        self.zone = zone
        self.minutes = {}

    def cell(self, value):
        """Return the local cell of one time cell's value ("" when it is not a time)."""
        if type(value) is not str:
            if not isinstance(value, datetime):
                return ""
            value = _utc_text(value)
        if len(value) != 20 or value[19] != "Z":
            return self._slow(value)
        minute = value[:16]
        local = self.minutes.get(minute)
        if local is None:
            try:
                moment = datetime.fromisoformat(minute + ":00+00:00")
            except ValueError:
                return ""
            text = moment.astimezone(self.zone).isoformat(timespec="seconds")
            local = (text[:16], text[19:])  # "2026-12-03T13:46", "-05:00"
            if len(self.minutes) >= self.LIMIT:
                self.minutes.clear()
            self.minutes[minute] = local
        return local[0] + value[16:19] + local[1]

    def _slow(self, value):
        if not ISO_UTC.match(value):
            return ""
        moment = datetime.fromisoformat(value)
        return moment.astimezone(self.zone).isoformat(timespec="seconds")


def _list_columns(feed):
    """Return the header of an empty export: the list's columns (``ListColumns``) when the tab
    writes its rows as read, else ``id`` alone (a tab's ``as_data`` shapes its rows itself)."""
    row = getattr(getattr(feed.read, "__self__", None), "row", None)
    if feed.as_data is None and row is not None:
        return list(row._fields)
    return ["id"]


def _is_time(value):
    return isinstance(value, datetime) or (isinstance(value, str) and bool(ISO_UTC.match(value)))


def _utc_text(moment):
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds") + "Z"


def _json_default(value):
    if isinstance(value, datetime):
        return _utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
