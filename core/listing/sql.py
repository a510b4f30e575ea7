"""SQL helpers of the list machinery: the light row reader, day ranges, the keyset bounds with
the commit horizon, and the newest-first union of a related scope's parties."""

from collections import namedtuple
from datetime import UTC
from datetime import datetime
from datetime import time
from datetime import timedelta

import peewee
from flask import g
from flask import has_app_context

from core.db import database
from core.records import commit_horizon


class ListColumns:
    """The columns a list reads (every one but the wide ones, read only when a record is
    opened) as one SQL literal, and rows as light tuples: the hot path of every page.

    Compiling a dozen or more column nodes per page costs more than the query itself (peewee
    builds each one), and so does building 50 model objects and parsing their dates field by
    field; a tuple per row and one pass over the dates cost a fraction of it.
    """

    def __init__(self, model, exclude=()):
        self.fields = [f for f in model._meta.sorted_fields if f.name not in exclude]
        self.row = namedtuple(f"{model.__name__}Row", [f.name for f in self.fields])
        # Unqualified names: a list query reads one table (subqueries name their own).
        self.select = peewee.SQL(", ".join(f'"{f.column_name}"' for f in self.fields))
        self._date_positions = [
            index for index, f in enumerate(self.fields) if isinstance(f, peewee.DateTimeField)
        ]

    def read(self, query):
        """Run ``query`` (selecting ``self.select``) and return its rows as tuples."""
        make = self.row._make
        rows = database.execute(query).fetchall()
        positions = self._date_positions
        # SQLite hands dates back as text (PostgreSQL as datetimes): parse them in one pass.
        if not rows or not positions or not any(isinstance(rows[0][i], str) for i in positions):
            return [make(values) for values in rows]
        parse = datetime.fromisoformat
        parsed = []
        for values in rows:
            values = list(values)
            for index in positions:
                if values[index] is not None:
                    values[index] = parse(values[index])
            parsed.append(make(values))
        return parsed


def in_days(query, column, date_from, date_to, zone):
    """Return ``query`` limited to ``column`` (a UTC time) within the days ``date_from`` to
    ``date_to`` of ``zone``, either of which may be None."""
    start, end = day_range(date_from, date_to, zone)
    if start:
        query = query.where(column >= start)
    if end:
        query = query.where(column < end)
    return query


def containing(query, text, *columns):
    """Return ``query`` limited to rows where one of ``columns`` contains ``text`` (if any)."""
    if not text:
        return query
    condition = columns[0].contains(text)
    for column in columns[1:]:
        condition |= column.contains(text)
    return query.where(condition)


def distinct_values(model, column):
    """Return the distinct values of ``column`` (a column name with an index of its own or
    leading one), by one index seek per value: a loose index scan, however many rows there
    are (a plain DISTINCT would read every entry of the index)."""
    table = model._meta.table_name
    sql = (
        f"WITH RECURSIVE seen(value) AS ("
        f" SELECT MIN({column}) FROM {table}"
        f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > seen.value)"
        f" FROM seen WHERE seen.value IS NOT NULL)"
        f" SELECT value FROM seen WHERE value IS NOT NULL"
    )
    return [row[0] for row in model._meta.database.execute_sql(sql)]


def bounded(query, column, older_than=None, newer_than=None, ids_of=None):
    """Return ``query`` limited to ids (``column``) below ``older_than`` and above
    ``newer_than``: the keyset bounds every ``records`` function applies.

    Without ``older_than`` (the first page, the "N new" poll) the newest ids stop at the
    table's commit horizon (``core.records.commit_horizon``): on PostgreSQL a record may commit
    after one with a higher id, and a reader that went past it would never see it.
    ``ids_of`` names the model whose ids ``column`` holds when it is not ``column``'s own.
    """
    if older_than is not None:
        query = query.where(column < older_than)
    else:
        horizon = request_horizon(_id_table(column, ids_of))
        if horizon is not None:
            query = query.where(column < horizon)
    if newer_than is not None:
        query = query.where(column > newer_than)
    return query


def newest_ids(query, column, older_than, newer_than, limit, ids_of=None):
    """Return ``query`` (selecting the ids in ``column``) within the keyset bounds
    (``bounded``), newest first and capped at ``limit``: one arm of ``newest_of``."""
    query = bounded(query, column, older_than, newer_than, ids_of)
    return query.order_by(column.desc()).limit(limit)


def request_horizon(table):
    """Return ``commit_horizon(table)``, read once per request: a horizon read earlier stays
    true later, and a page's queries (one per audience arm) then agree."""
    if not has_app_context():
        return commit_horizon(table)
    horizons = g.setdefault("commit_horizons", {})
    if table not in horizons:
        horizons[table] = commit_horizon(table)
    return horizons[table]


def _id_table(column, ids_of=None):
    """Return the table whose ids ``column`` holds: ``ids_of``'s, or the column's own."""
    if ids_of is not None:
        return ids_of._meta.table_name
    field = getattr(column, "field", column)  # a column of an aliased model
    return field.model._meta.table_name


# Stands for an arm's value while the arm is compiled (``newest_of``): no id or party is it.
_ARM_VALUE = -8_646_911_284_551_352_321


def newest_of(id_column, *shapes):
    """Return the condition "``id_column`` is among the ids of the arms": each ``shape`` a
    pair ``(arm, values)``, ``arm(value)`` the query of one value, selecting ids newest first
    and capped, a short range of its own index; one arm per value of each shape.

    This is how a ``related`` scope reads one party at a time: a few short index range scans
    instead of gathering every related row and sorting them (88 ms → 3 ms on Activity at 1M
    events, 91 ms → 4 ms on Email at 100,000 messages).

    Each shape is built and compiled once, its SQL repeated for each value: built and compiled
    arm by arm, two arms took longer than the page's whole statement on PostgreSQL.
    """
    texts, params = [], []
    for arm, values in shapes:
        sql, arm_params = arm(_ARM_VALUE).sql()
        (at,) = [n for n, param in enumerate(arm_params) if param == _ARM_VALUE]
        for value in values:
            # SQLite takes no ORDER BY/LIMIT inside a UNION arm unless it is wrapped in a
            # subquery.
            texts.append(f"SELECT * FROM ({sql}) AS arm{len(texts)}")
            params += [*arm_params[:at], value, *arm_params[at + 1 :]]
    if not texts:
        return id_column.in_([])  # no value: no row
    return id_column.in_(peewee.SQL(f"({_union(texts)})", params))


# SQLite takes at most 500 terms in one compound SELECT (SQLITE_MAX_COMPOUND_SELECT): a
# person in teams of 250 people has 500 arms on the Email tab (sent and received).
MOST_TERMS = 500


def _union(texts):
    """Return the UNION of the SELECTs ``texts``: in groups of at most ``MOST_TERMS``, each
    group a subquery that counts as one term of the union above it."""
    if len(texts) <= MOST_TERMS:
        return " UNION ".join(texts)
    groups = [texts[start : start + MOST_TERMS] for start in range(0, len(texts), MOST_TERMS)]
    return _union([f"SELECT * FROM ({_union(group)}) AS arms{n}" for n, group in enumerate(groups)])


def day_range(date_from, date_to, zone):
    """Return the UTC bounds ``[start, end)`` of the days ``date_from``..``date_to`` in
    ``zone`` (either may be None: open on that side)."""
    start = _utc_midnight(date_from, zone) if date_from else None
    end = _utc_midnight(date_to + timedelta(days=1), zone) if date_to else None
    return start, end


def _utc_midnight(day, zone):
    local = datetime.combine(day, time.min, tzinfo=zone)
    return local.astimezone(UTC).replace(tzinfo=None)
