"""Merging the pages of several tabs into one timeline, newest first, and the cursor of the next
page.

Each source is one tab's list under one filter (a Company's events, the messages to a person),
read a page at a time through that tab's ``Feed.page``: newest first by record id, as the tab
lists it. The merge is a k-way merge of those pages:

- within one tab, its sources are merged by id and a record found by two of them (a message a
  person sent to themselves) is kept once: both lists are sorted by the same id, so the two
  copies meet at the head at the same time;
- across tabs, the head that happened last goes first (its time, then the tab's place in the
  tab bar, then its id), so the timeline reads in time order wherever each tab's ids do.

A page never emits past what it has read: it stops as soon as a source that has more rows has
none left in hand (whose next row could be newer than every other head). With a page of ``size``
rows read from every source, that can only happen once ``size`` rows are out, so every page is
full until the end.

The next page's cursor is one position per source: the id of the last record taken from it
(the next page reads below it), the id above its first row in hand when none was taken yet, or
0 when the source has nothing more. Each next page therefore continues exactly the same merge:
no record is lost or shown twice, whatever the page size.
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from core.inputs import MAX_ID
from core.inputs import MAX_ID_DIGITS

DONE = 0  # a source's position when it has nothing more


@dataclass
class Stream:
    """One source's page in hand: its tab, the tab's place in the tab bar, its rows (newest
    first by id), whether the tab has more below them, and the time of a row."""

    tab: str
    order: int
    rows: list
    more: bool
    time: Callable
    taken: int = field(default=0, init=False)  # how many of ``rows`` the merge took
    last: int = field(default=None, init=False)  # the id of the last row taken

    def head(self):
        """Return the next row in hand, or None."""
        return self.rows[self.taken] if self.taken < len(self.rows) else None

    def starved(self):
        """Tell whether this source has more rows but none left in hand."""
        return self.more and self.head() is None

    def position(self):
        """Return where the next page reads this source from (``DONE`` when it is done)."""
        head = self.head()
        if head is not None:
            return self.last if self.last is not None else head.id + 1
        return self.last if self.more else DONE


@dataclass(frozen=True)
class Entry:
    """One row of the timeline: its tab and the tab's own row."""

    tab: str
    row: object


def merge(streams, size):
    """Take up to ``size`` rows from ``streams`` in timeline order; return ``(entries,
    positions)``, ``positions`` one per stream, in their order (see the module's docstring)."""
    entries = []
    while len(entries) < size and not any(stream.starved() for stream in streams):
        newest = {}  # tab -> (key, row): the tab's head, its newest id among its sources
        for stream in streams:
            row = stream.head()
            if row is None:
                continue
            held = newest.get(stream.tab)
            if held is None or row.id > held[1].id:
                newest[stream.tab] = ((stream.time(row), -stream.order, row.id), row)
        if not newest:
            break
        tab, (_, row) = max(newest.items(), key=lambda item: item[1][0])
        entries.append(Entry(tab, row))
        for stream in streams:  # the same record from another source of the tab: once
            head = stream.head()
            if stream.tab == tab and head is not None and head.id == row.id:
                stream.taken += 1
                stream.last = row.id
    return entries, [stream.position() for stream in streams]


def encode(positions):
    """Return ``positions`` as the ``after`` parameter: ids joined by dots (``812.0.77``)."""
    return ".".join(str(position) for position in positions)


def decode(raw, count):
    """Return the ``count`` positions of the ``after`` parameter ``raw``, or None when it is
    malformed (not ``count`` whole numbers from 0 below the largest id, joined by dots)."""
    if len(raw) > count * (MAX_ID_DIGITS + 1):
        return None
    parts = raw.split(".")
    if len(parts) != count:
        return None
    for part in parts:
        if not (part.isascii() and part.isdigit() and len(part) <= MAX_ID_DIGITS):
            return None
    positions = [int(part) for part in parts]
    return positions if all(position < MAX_ID for position in positions) else None
