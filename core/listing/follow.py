"""Following a list from a point on, oldest first: what log streams and alerts read.

A follower keeps the id of the last record it handled (its cursor) and asks for what came
after it. ``read_after`` answers through the tab's one query function, ``records``, for the
follower's viewer and filters, so a stream or an alert holds exactly what that person's page
would list and nothing more.

No record is ever skipped: a window ends below the table's commit horizon
(``core.records.commit_horizon``; on SQLite, where ids commit in order, the highest id + 1),
so every id in it has committed or never will, and the cursor moves to the window's end only
once the window was read. Each window spans at most ``span`` ids, so a filter matching few
records still reads a short range of the id index per call.
"""

import peewee

from core.records import commit_horizon

SPAN = 1000  # ids a window covers at most


def horizon(feed):
    """Return the id below which every record of ``feed``'s table that will ever commit is
    visible now: the commit horizon, or on SQLite the highest id + 1."""
    model = feed.model
    found = commit_horizon(model._meta.table_name)
    if found is None:
        found = (model.select(peewee.fn.MAX(model.id)).scalar() or 0) + 1
    return found


def start_cursor(feed):
    """Return the cursor of a follower starting now: the newest record it will not get."""
    return horizon(feed) - 1


def read_after(feed, viewer, filters, cursor, span=SPAN):
    """Return ``(rows, new_cursor)``: the records after id ``cursor`` that ``viewer`` may see
    under ``filters``, oldest first, within one window of at most ``span`` ids, and the cursor
    to ask from next (the window's last id, whether or not it matched)."""
    upper = min(horizon(feed), cursor + span + 1)
    if upper <= cursor + 1:
        return [], cursor
    rows = feed.read(feed.records(viewer, filters, older_than=upper, newer_than=cursor))
    rows.reverse()  # the query is newest first
    return rows, upper - 1
