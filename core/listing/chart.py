"""The chart above every list: how many records the list shows per hour or per day, for the
current filter, each bar a link narrowing the list to its day.

What it counts. A bar counts the rows of the tab's one query function (``Feed.records``) for
the viewer and the filters the list shows, so it never counts a row the list would not show
(rows a viewer may not see would leak through a count). Each count stops at ``BAR_CAP`` + 1
and reads "100+" then, as the list's total reads "1,000+".

How it stays fast. Counting a day of a million-row table by its time column means scanning
the day; and every index a filter or a row scope reads by (actor, id), (verb, id), (party,
event id), full text by row id, is ordered by id, not by time. Ids and times grow together, so
each bucket's time bounds become id bounds: at each edge, the lowest id among the first
``EDGE_ROWS`` rows at or after it in the time index (a short read each, all in one statement).
A bar is then ``records(viewer, filters, older_than=…, newer_than=…)`` limited to
``BAR_CAP`` + 1 rows: the keyset bounds every page uses, so each filter reads at most
``BAR_CAP`` + 1 matching rows of its own index per bar. The tab's query is built once with
placeholder bounds that become the columns of the buckets' VALUES list (``_Template``): one
statement, planned once, counts every bar.

So a bar counts exactly what its day's list shows while records are dated as they are
recorded. A record dated before records recorded earlier (an API import may date one up to a
year back) is counted in the bar of the day it was recorded, and its own day's bar is one
short; a few such rows at an edge do not move the bounds (the lowest of ``EDGE_ROWS``).
Checking each counted row's time too cost 1.3 to 3 times the chart (``bench/chart.py``).

Failures: a tab whose filters know the word ``failed`` (a qualifier's group, as the Logins tab's
``outcome:failed``) gets a second count per bar, of the rows among them that failed: the same
query with that qualifier narrowed to the failures the filter allows.

The range (``span``): the filter's days (``created:``, From and To), else the last
``DEFAULT_DAYS`` days; at most ``MAX_DAYS`` days (the newest of a longer range); per hour when
it is ``HOURLY_DAYS`` days or fewer, else per day; in the viewer's time zone. A range outside
the years From and To take draws no chart.
"""

import copy
import functools
import re
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from urllib.parse import quote_plus
from urllib.parse import urlencode

import peewee

from core.db import database
from core.db import is_sqlite
from core.db import utcnow
from core.inputs import MAX_ID
from core.listing.sql import day_range
from core.listing.sql import request_horizon
from core.search.language import DATE_KEY
from core.search.language import Search
from core.search.language import Term
from core.search.language import parse

BAR_CAP = 100  # a bar counts up to this many rows, then reads "100+"
DEFAULT_DAYS = 30  # the range without a day filter: the last 30 days
MAX_DAYS = 31  # a longer range shows its newest 31 days
HOURLY_DAYS = 2  # a range of at most 2 days is drawn per hour
FAILED = "failed"  # the word of a qualifier's group whose rows are marked as failures
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9000, 12, 31)  # the days From and To take
EDGE_ROWS = 16  # an edge's id: the lowest of the first 16 rows at or after it
PARAMS_PER_STATEMENT = 10_000  # well under SQLite's 32,766 parameters


@dataclass(frozen=True)
class Bar:
    """One bucket: its UTC bounds, the local day a click narrows the list to, its labels, how
    many rows the list shows in it (up to the cap + 1) and how many of them failed (or None)."""

    start: datetime
    end: datetime
    day: object  # datetime.date
    label: str
    title: str
    count: int
    failures: int | None
    url: str


@dataclass
class Chart:
    """What ``feed/chart.html`` draws: the bars, oldest first, and what its words say."""

    bars: list
    unit: str  # "hour" or "day"
    first: object  # the first and last local days shown
    last: object
    cut: bool  # the filter's range is longer than the chart shows
    noun: str
    cap: int
    failure_word: str | None  # "failed" when failures are marked

    @functools.cached_property
    def top(self):
        """Return the highest count (the scale's top; at least 1)."""
        return max([bar.count for bar in self.bars] + [1])

    @property
    def capped(self):
        """Tell whether some bar reached the cap."""
        return any(bar.count > self.cap for bar in self.bars)

    @property
    def total(self):
        """Return the sum of the bars (a lower bound when ``capped``)."""
        return sum(min(bar.count, self.cap) for bar in self.bars)

    def height(self, count):
        """Return ``count``'s bar height in the drawing's 100 units (0 for none)."""
        return round(min(count, self.top) / self.top * 96, 2) if count else 0

    def counted(self, count):
        """Return ``count`` as the bars say it: "1 event", "100+ events"."""
        if count > self.cap:
            return f"{self.cap:,}+ {self.noun}s"
        return f"{count:,} {self.noun}{'' if count == 1 else 's'}"

    def said(self, bar):
        """Return what ``bar`` says in words: "Tue 3 Nov: 42 events, 3 failed"."""
        text = f"{bar.title}: {self.counted(bar.count)}"
        if bar.failures is not None:
            failed = f"{self.cap:,}+" if bar.failures > self.cap else f"{bar.failures:,}"
            text += f", {failed} {self.failure_word}"
        return text

    @property
    def caption(self):
        """Return the chart's title: what is counted, per what, over which days."""
        per = "hour" if self.unit == "hour" else "day"
        days = _day_text(self.first) if self.first == self.last else _range_text(self)
        return f"{self.noun.capitalize()}s per {per}, {days}"

    @property
    def top_text(self):
        """Return the scale's top as the bars say it: "42", "100+"."""
        return f"{self.cap:,}+" if self.top > self.cap else f"{self.top:,}"

    @property
    def description(self):
        """Return the chart in one sentence: how many in all, and the busiest bar."""
        total = f"{self.total:,} {self.noun}{'' if self.total == 1 else 's'}"
        if self.capped:
            return (
                f"More than {total} in all; some bars reached {self.cap:,}, where counting stops."
            )
        busiest = max(self.bars, key=lambda bar: bar.count, default=None)
        if busiest is None or not busiest.count:
            return f"No {self.noun} in these {self.unit}s."
        return f"{total} in all; the most, {self.counted(busiest.count)}, {busiest.title}."

    @functools.cached_property
    def drawn(self):
        """Return each bar as the template draws it, computed once: ``(bar, words, x,
        height, failed height, capped)`` in the drawing's units (10 wide, 100 high)."""
        return [
            (
                bar,
                self.said(bar),
                index * 10 + 1.5,
                self.height(bar.count),
                self.height(bar.failures) if bar.failures else 0,
                bar.count > self.cap,
            )
            for index, bar in enumerate(self.bars)
        ]

    @property
    def axis(self):
        """Return the labels under the bars: the first, the middle and the last."""
        bars = self.bars
        if len(bars) < 3:
            return [bar.label for bar in bars]
        return [bars[0].label, bars[len(bars) // 2].label, bars[-1].label]


def build(feed, viewer, filters, args):
    """Return the ``Chart`` of ``feed``'s list for ``viewer`` under ``filters`` (read from the
    query string ``args``, without its refused parts), or None for a tab without a time column."""
    column = feed.filters.days
    if column is None:
        return None
    zone = viewer.zone()
    today = utcnow().replace(tzinfo=UTC).astimezone(zone).date()
    if not _within_limits(filters.date_from, filters.date_to):
        return None  # no record is dated there (and the days' arithmetic would overflow)
    first, last, cut = span(filters.date_from, filters.date_to, today)
    unit = "hour" if (last - first).days < HOURLY_DAYS else "day"
    edges = _edges(first, last, unit, zone)
    # The buckets' own bounds replace the filter's days (they lie within them): the time
    # index is then read bucket by bucket, not over the whole range for each bucket.
    undated = copy.copy(filters)
    undated.date_from = undated.date_to = None
    bounds = _id_bounds(feed, edges)
    counts = count_buckets(feed, viewer, undated, edges, bounds=bounds)
    failing = failure_filters(feed, undated)
    failures = None
    if failing is not None:
        failures = [0] * len(counts)
        if failing:
            failures = count_buckets(feed, viewer, failing, edges, bounds=bounds)
    link = _Links(feed, args)
    bars = []
    for index, count in enumerate(counts):
        start, end = edges[index], edges[index + 1]
        local = _local(start, zone)
        day = local.date()
        if unit == "hour":
            label = local.strftime("%H:%M")
            title = f"{_day_text(day)} {label}–{_local(end, zone).strftime('%H:%M')}"
        else:
            label, title = f"{day.day} {day:%b}", f"{day:%a} {day.day} {day:%b %Y}"
        failed = None if failures is None else failures[index]
        bars.append(Bar(start, end, day, label, title, count, failed, link.to(day)))
    return Chart(
        bars, unit, first, last, cut, feed.noun, BAR_CAP, FAILED if failures is not None else None
    )


def span(date_from, date_to, today):
    """Return ``(first, last, cut)``: the days the chart shows for a filter's day range (either
    side may be None: open) and whether that range is longer than them."""
    first, last = date_from, date_to
    if first and not last:
        last = max(first, today)
    elif last and not first:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    elif not first:
        first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    last = min(last, LAST_DAY)
    first = min(first, last)
    cut = (last - first).days + 1 > MAX_DAYS
    if cut:
        first = last - timedelta(days=MAX_DAYS - 1)
    return first, last, cut


def _within_limits(date_from, date_to):
    """Tell whether the days ``date_from``..``date_to`` (either may be None) meet the years
    From and To take (``FIRST_DAY`` to ``LAST_DAY``)."""
    return (date_to is None or date_to >= FIRST_DAY) and (
        date_from is None or date_from <= LAST_DAY
    )


class _Links:
    """The URLs of the list narrowed to one day: the filters of ``args`` (the query string)
    with the search box's days replaced by ``created:<day>``, as the box writes it."""

    def __init__(self, feed, args):
        self.base = feed.url()
        kept = [(k, v) for k, v in feed.filter_args(args) if k not in ("q", "from", "to")]
        self.prefix = urlencode(kept + [("q", "")])  # ends with "q="
        self.terms = [term for term in parse(args.get("q", "")).terms if term.key != DATE_KEY]
        self.urls = {}

    def to(self, day):
        """Return the list's URL narrowed to ``day``."""
        if day not in self.urls:  # an hour's link is its day's
            query = Search(self.terms + [Term(DATE_KEY, day.isoformat())]).text()
            self.urls[day] = f"{self.base}?{self.prefix}{quote_plus(query)}"
        return self.urls[day]


def failure_filters(feed, filters):
    """Return ``filters`` narrowed to the failures they allow, or None when the tab has no
    word for failures; ``False`` when the filters allow none (every bar has 0 failed)."""
    qualifier = next((q for q in feed.filters.qualifiers if FAILED in q.groups), None)
    if qualifier is None:
        return None
    chosen = filters.values[qualifier.key]
    allowed = [value for value in qualifier.groups[FAILED] if not chosen or value in chosen]
    if not allowed:
        return False
    failing = copy.copy(filters)
    failing.values = {**filters.values, qualifier.key: allowed}
    return failing


# --- counting -------------------------------------------------------------------------------

BUCKETS = '"chart_bucket"'  # the bars' bounds, as the rows of one VALUES list


def count_buckets(feed, viewer, filters, edges, cap=None, bounds=None):
    """Return, for each bucket ``edges[i] <= time < edges[i + 1]`` (UTC), how many rows of
    ``feed``'s list for ``viewer`` under ``filters`` it holds, up to ``cap + 1`` (``BAR_CAP``
    by default). ``bounds`` are the buckets' id bounds (``_id_bounds``) when already read."""
    cap = BAR_CAP if cap is None else cap
    counts = [0] * (len(edges) - 1)
    bounds = _id_bounds(feed, edges) if bounds is None else bounds
    if not bounds:
        return counts
    template = _Template.of(feed, viewer, filters, cap)
    if template is not None:
        statements = [template.statement(bounds, edges)]
    else:  # a query whose shape depends on its bounds: built for each bucket
        statements = _one_by_one(feed, viewer, filters, cap, bounds, edges)
    for sql, params in statements:
        for index, count in database.execute_sql(sql, params).fetchall():
            counts[index] = count
    return counts


def _id_bounds(feed, edges):
    """Return ``(bucket, newer_than, older_than)`` of each bucket that may hold a row: the
    ids its rows lie between when ids and times grow together."""
    first_ids = _first_ids(feed, edges)
    horizon = request_horizon(feed.model._meta.table_name)
    bounds = []
    for index in range(len(edges) - 1):
        low, high = first_ids[index], first_ids[index + 1]
        if high is None:  # no row at or after the bucket's end: up to the newest
            high = horizon if horizon is not None else MAX_ID
        if low is not None and low < high:
            bounds.append((index, low - 1, high))
    return bounds


def _first_ids(feed, edges):
    """Return, for each edge (a UTC time), the lowest id among the first ``EDGE_ROWS`` rows at
    or after it in the time column's order, or None when there is none: one short read of the
    time index each, in one statement planned once. The lowest of a few, so that a row or two
    dated before rows recorded earlier (an import) does not move a bucket's bounds."""
    column = feed.filters.days
    sql, params = _edge_seek(feed.model, column, database.param)
    rows = ", ".join(f"({database.param}, {database.param})" for _ in edges)
    values = [value for n, moment in enumerate(edges) for value in (n, column.db_value(moment))]
    statement = (
        f'WITH "chart_edge" ("n", "edge") AS (VALUES {rows}) '
        f'SELECT "chart_edge"."n", ({sql}) FROM "chart_edge"'
    )
    found = dict(database.execute_sql(statement, values + params).fetchall())
    return [found[n] for n in range(len(edges))]


@functools.cache
def _edge_seek(model, column, param):
    """Return ``(sql, params)`` of an edge's id, the edge a column of ``"chart_edge"`` (the
    same for every request: built once per table and database)."""
    edge = peewee.SQL('"chart_edge"."edge"')
    first = model.select(model.id).where(column >= edge).order_by(column).limit(EDGE_ROWS)
    lowest = model.select(peewee.fn.MIN(peewee.SQL('"first"."id"'))).from_(first.alias("first"))
    return lowest.sql()


def _bucket_query(feed, viewer, filters, cap, newer_than, older_than, start, end):
    """Return the count of the rows of ``feed``'s list between the ids, up to ``cap`` + 1.

    ``start`` and ``end``, the bucket's times, are not read: checking each row's time as well
    (read by id, one more row read per row counted) made the chart 1.3 to 3 times slower
    (``bench/chart.py``, ``times_checked_query``), for rows dated before rows recorded earlier."""
    model = feed.model
    # The limit goes on the tab's query, not into it: with one, a related scope reads each of
    # its parties' newest rows apart (a page's way: for a Teammate's Logins, 70 people, one
    # query of 70 parts to build and 70 reads per bar); without, the bar's ids once.
    newest = feed.records(
        viewer, filters, columns=[model.id], older_than=older_than, newer_than=newer_than
    ).limit(cap + 1)
    if is_sqlite():  # as the feed's count does; PostgreSQL keeps the order to stop early
        return feed.count_query(newest)
    return model.select(peewee.fn.COUNT(peewee.SQL("*"))).from_(newest.alias("capped"))


def _one_by_one(feed, viewer, filters, cap, bounds, edges):
    """Return the statements counting each bucket with a query built for it (``(bucket,
    count)`` rows), in runs whose parameters stay under ``PARAMS_PER_STATEMENT``."""
    statements, parts, params = [], [], []
    for index, newer_than, older_than in bounds:
        start, end = edges[index], edges[index + 1]
        query = _bucket_query(feed, viewer, filters, cap, newer_than, older_than, start, end)
        sql, values = query.sql()
        if parts and len(params) + len(values) > PARAMS_PER_STATEMENT:
            statements.append((" UNION ALL ".join(parts), params))
            parts, params = [], []
        parts.append(f"SELECT {int(index)}, ({sql})")
        params += values
    statements.append((" UNION ALL ".join(parts), params))
    return statements


# Placeholder bounds: never an id (ids are below MAX_ID) nor a time anything records.
_NEWER, _OLDER = MAX_ID + 1_000_003, MAX_ID + 1_000_033
_START, _END = datetime(1901, 2, 3, 4, 5, 6, 7), datetime(1901, 2, 3, 4, 5, 6, 8)
_BIG_NUMBER = re.compile(r"\d{16,}")


class _Template:
    """A bucket's count, built once through the tab's ``records`` with placeholder bounds,
    whose placeholders then name the columns of the buckets' VALUES list: one statement
    counts every bucket, planned once (PostgreSQL plans each subquery of a statement:
    0.1–0.3 ms apiece), each bucket's count the tab's own query for its bounds.

    A query that does not take its id bounds as they are (a placeholder missing, or a value
    derived from one) has no template, and each bucket's query is built for it. The bucket's
    times are there too, for a query that reads them."""

    REFS = {
        _NEWER: f'{BUCKETS}."newer"',
        _OLDER: f'{BUCKETS}."older"',
        _START: f'{BUCKETS}."t0"',
        _END: f'{BUCKETS}."t1"',
    }

    def __init__(self, sql, params):
        self.sql, self.params = sql, params

    @classmethod
    def of(cls, feed, viewer, filters, cap):
        """Return the template of ``feed``'s bucket count, or None when it cannot be one."""
        query = _bucket_query(feed, viewer, filters, cap, _NEWER, _OLDER, _START, _END)
        sql, params = query.sql()
        parts = sql.split(database.param)
        if len(parts) != len(params) + 1:
            return None
        text, kept, seen = [parts[0]], [], set()
        for param, part in zip(params, parts[1:], strict=True):
            placeholder = _placeholder(param)
            if placeholder is not None:
                seen.add(placeholder)
                text.append(cls.REFS[placeholder])
            elif _placeholder_like(param):
                return None
            else:
                text.append(database.param)
                kept.append(param)
            text.append(part)
        sql = "".join(text)
        for value in (_NEWER, _OLDER):  # written into the SQL by the tab (a full-text lookup)
            if str(value) in sql:
                seen.add(value)
                sql = sql.replace(str(value), cls.REFS[value])
        if not {_NEWER, _OLDER} <= seen or any(int(n) >= MAX_ID for n in _BIG_NUMBER.findall(sql)):
            return None
        return cls(sql, kept)

    def statement(self, bounds, edges):
        """Return ``(sql, params)`` counting every bucket of ``bounds``: ``(bucket, count)``."""
        marks = ", ".join([database.param] * 5)
        rows = ", ".join(f"({marks})" for _ in bounds)
        values = []
        for index, newer_than, older_than in bounds:
            values += [index, newer_than, older_than, edges[index], edges[index + 1]]
        sql = (
            f'WITH {BUCKETS} ("n", "newer", "older", "t0", "t1") AS (VALUES {rows}) '
            f'SELECT {BUCKETS}."n", ({self.sql}) FROM {BUCKETS}'
        )
        return sql, values + self.params


def _placeholder(value):
    """Return the placeholder ``value`` is, or None."""
    if type(value) is int and value in (_NEWER, _OLDER):
        return value
    if isinstance(value, datetime) and value in (_START, _END):
        return value
    return None


def _placeholder_like(value):
    """Tell whether ``value`` looks derived from a placeholder: an id past MAX_ID, a 1901 time."""
    if isinstance(value, datetime):
        return value.year == _START.year
    return type(value) is int and value >= MAX_ID


# --- days and hours -------------------------------------------------------------------------


def _edges(first, last, unit, zone):
    """Return the UTC edges of the buckets from ``first``'s local midnight to the end of
    ``last``: every local midnight, or every hour."""
    start, end = day_range(first, last, zone)
    if unit == "hour":
        count = int((end - start) / timedelta(hours=1))
        return [start + timedelta(hours=n) for n in range(count + 1)]
    days = (last - first).days + 1
    return [day_range(first + timedelta(days=n), None, zone)[0] for n in range(days)] + [end]


def _local(moment, zone):
    """Return the naive UTC ``moment`` in ``zone``."""
    return moment.replace(tzinfo=UTC).astimezone(zone)


def _day_text(day):
    """Return ``day`` as the chart writes it: "Tue 3 Nov 2026"."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _range_text(chart):
    """Return the chart's days as words: "3 Nov – 2 Dec 2026"."""
    first, last = chart.first, chart.last
    start = f"{first.day} {first:%b}" + ("" if first.year == last.year else f" {first.year}")
    return f"{start} – {last.day} {last:%b %Y}"
