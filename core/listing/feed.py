"""One list machinery for every list tab: filter bar, keyset pages, capped total, "N new" poll,
detail view, and the page-or-fragment answer of each URL.

A list tab describes itself once as a ``Feed`` — its table, its one visibility query (the
viewer's scope in SQL), its filters and its templates — and gets the panel and three routes
on its blueprint, all behind the stream gate:

- ``/stream/<tab>/rows?after=<id>&<filters>``: the next page (the infinite-scroll sentinel);
- ``/stream/<tab>/new?since=<id>&<filters>``: the "N new" banner, polled;
- ``/stream/<tab>/<id>``: one record in full (inline for htmx, a page when opened directly);
- ``/stream/<tab>/export?format=csv|jsonl&<filters>``: every row the panel lists for the
  filters, as a streamed download (``core.listing.export``), or prepared in the background
  when it is large (``core.listing.export_pages``, ``core.listing.export_jobs``).

Every query the feed runs goes through the tab's ``records`` function, so the panel, the
fragments, the counts, the poll and the detail view can never disagree about what a viewer
may see.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from urllib.parse import urlencode

import peewee
from flask import Blueprint
from flask import abort
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from core.inputs import MAX_ID
from core.inputs import parse_id
from core.listing import chart
from core.listing import export_pages
from core.listing.audit import record_person_search
from core.listing.saved import SAVED_SEARCHES_PER_TAB
from core.listing.saved import SavedSearch
from core.listing.saved import saved_searches
from core.search.language import MAX_QUERY
from core.search.language import Term
from core.shell import page_or_fragment
from core.tabs import Tab

PAGE_SIZE = 50
COUNT_CAP = 1000


@dataclass(kw_only=True)
class Feed:
    """How one list tab reads and shows its records. The tab configures; the feed serves.

    - ``records(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None)``
      returns the query of the records ``viewer`` may see under ``filters``, newest (highest
      id) first: the tab's one visibility decision. ``columns=None`` means the list columns.
    - ``read(query)`` runs a list query and returns rows with an ``id`` (light tuples).
    - ``filters`` is the tab's ``core.listing.filters.FilterSet``: its qualifiers, declared once. It
      reads the URL's parameters and the search box together, collecting every refusal, and
      gives the feed ``parse_filters``, ``filter_keys`` (the URL parameters that are filters)
      and ``qualifiers`` (the ``key:`` words of the box, shown as its help).
    - Or, by hand: ``parse_filters(args)`` (or ``parse_filters(args, viewer)``) reads the
      filters from the query string (a bad one is a 400) and ``filter_keys`` names the
      parameters it reads; a refusal then leaves every filter out. The result has
      ``active()`` and may have a ``caption`` shown beside the total, a ``query`` (the search
      box's text), ``controls()`` (the value each control shows) and ``hints`` (why a search
      finds nothing).
    - ``prepare_rows(viewer, rows)`` returns what ``rows_template`` prints for each row.
    - ``options(viewer)`` returns the filter bar's choices for ``filter_template``.
    - ``detail_context(viewer, record)`` returns what ``detail_template`` needs; ``record`` is
      the full model row, already checked against ``records``.
    - ``filter_template``, ``rows_template`` and ``detail_template`` are the tab's own
      templates: by default ``<tab>/filters.html``, ``<tab>/rows.html`` and, when there is a
      ``detail_context``, ``<tab>/detail.html``.
    - ``as_data(viewer, rows)`` returns rows as plain dicts for the API, exports and log
      streams (``records_data``); declare it to leave out what the viewer may not read.
    - ``import_name`` (the tab's module, ``__name__``) locates the tab's ``templates/``; or
      pass a ``blueprint`` of the tab's own, to which the feed adds its routes.
    - ``prune`` (a ``core.retention.Prune``) says how retention removes old records: their
      time column, the rows that go with them; by default the model's one ``DateTimeField``.
    """

    name: str
    label: str
    noun: str
    model: type
    records: Callable
    read: Callable
    filters: object  # the tab's core.listing.filters.FilterSet
    prepare_rows: Callable
    empty_text: str
    filter_template: str = None
    rows_template: str = None
    options: Callable = None
    detail_template: str = None
    detail_context: Callable = None
    import_name: str = None
    blueprint: Blueprint = None
    as_data: Callable = None
    prune: object = None
    # Read from ``filters``: its parser, its URL parameters, its search-box keys.
    parse_filters: Callable = field(init=False)
    filter_keys: tuple = field(init=False)
    qualifiers: tuple = field(init=False)

    def __post_init__(self):
        # The templates by convention: ``<tab>/filters.html``, ``<tab>/rows.html`` and, with a
        # ``detail_context``, ``<tab>/detail.html``.
        self.filter_template = self.filter_template or f"{self.name}/filters.html"
        self.rows_template = self.rows_template or f"{self.name}/rows.html"
        if self.detail_context and not self.detail_template:
            self.detail_template = f"{self.name}/detail.html"
        self.parse_filters = self.filters.parse
        self.filter_keys = self.filters.params
        self.qualifiers = self.filters.keys
        if self.blueprint is None:
            # Named after the tab; its templates come from ``templates/`` beside ``import_name``.
            self.blueprint = Blueprint(
                self.name, self.import_name or self.name, template_folder="templates"
            )
        self.blueprint.add_url_rule("/rows", "rows", self.rows_view)
        self.blueprint.add_url_rule("/new", "new", self.new_view)
        export_pages.attach(self)
        self.blueprint.add_url_rule(
            "/searches", "save_search", self.save_search_view, methods=["POST"]
        )
        self.blueprint.add_url_rule(
            "/searches/<int:search_id>/delete",
            "delete_search",
            self.delete_search_view,
            methods=["POST"],
        )
        if self.detail_template:
            self.blueprint.add_url_rule("/<int:record_id>", "detail", self.detail_view)

    def route(self, rule, **options):
        """Add a route of the tab's own to its blueprint (behind the same gate), as a
        decorator: ``@FEED.route("/<int:record_id>/resend", methods=["POST"])``."""
        return self.blueprint.route(rule, **options)

    def tab(self, label=None, order=100, configurable=True):
        """Return the ``Tab`` serving this feed (its panel and its blueprint)."""
        return Tab(
            self.name, label or self.label, order, self.panel, self.blueprint, configurable, self
        )

    def records_data(self, viewer, rows):
        """Return ``rows`` (read by ``read``, or full records) as plain dicts for JSON and CSV:
        what the API, exports and log streams send. The tab's ``as_data(viewer, rows)`` when
        it declares one (it hides what ``viewer`` may not read, as its templates do), else
        every column read, times in ISO 8601 UTC."""
        if self.as_data is not None:
            return self.as_data(viewer, rows)
        return [plain_data(row) for row in rows]

    def term(self, key, value):
        """Return ``key:value`` as the search box writes it (quoted where it must be)."""
        return Term(key, str(value)).text()

    def filters_of(self, args, viewer=None):
        """Return the tab's filters of ``args`` for ``viewer`` (the signed-in user by default)."""
        return self.parse_filters(args, viewer=current_user if viewer is None else viewer)

    # Reading: every function starts from ``records``.

    def page(self, viewer, filters, after=None, size=PAGE_SIZE):
        """Return ``(rows, next_cursor)``: up to ``size`` visible rows older than ``after``."""
        rows = self.read(self.records(viewer, filters, older_than=after, limit=size + 1))
        more = len(rows) > size
        rows = rows[:size]
        return rows, (rows[-1].id if more else None)

    def total(self, viewer, filters, cap=COUNT_CAP):
        """Return how many rows ``viewer`` may see under ``filters``, up to ``cap + 1``."""
        ids = self.records(viewer, filters, columns=[self.model.id], limit=cap + 1)
        return self._count(ids)

    def newer_count(self, viewer, filters, since, cap=COUNT_CAP):
        """Return how many visible rows are newer than ``since``, up to ``cap + 1``."""
        ids = self.records(
            viewer, filters, columns=[self.model.id], newer_than=since, limit=cap + 1
        )
        return self._count(ids)

    def get(self, viewer, record_id):
        """Return one full record if ``viewer`` may see it; else 404, as for a missing id."""
        missing = f"There is no such {self.noun}, or it does not relate to you."
        if not 0 < record_id < MAX_ID:
            abort(404, missing)
        # Bounds on both sides keep the scope check to this one id.
        query = self.records(
            viewer,
            self.filters_of(MultiDict(), viewer),
            columns=self.model._meta.sorted_fields,
            older_than=record_id + 1,
            newer_than=record_id - 1,
        )
        record = query.first()
        if record is None:
            abort(404, missing)
        return record

    def _count(self, limited):
        return self.count_query(limited).scalar()

    def count_query(self, limited):
        """Return the query counting the rows of ``limited`` (a ``records`` query with a limit)."""
        # The order goes, unless it is not the table's id (a full-text index drives the query
        # in its own order): without it, SQLite could pick a plan probing the index per row.
        # A ``records`` query marked ``count_in_order`` keeps its order: its plan then stops
        # after the cap in id order.
        by_id = all(getattr(o, "node", None) is self.model.id for o in limited._order_by or ())
        by_id = by_id and not getattr(limited, "count_in_order", False)
        return self.model.select(peewee.fn.COUNT(peewee.SQL("*"))).from_(
            (limited.order_by() if by_id else limited).alias("capped")
        )

    # Rendering.

    def panel(self, viewer, args=None):
        """Render the panel for ``viewer``: filter bar, capped total, first page, poller.

        ``args`` defaults to the request's query string; a cursor in it starts the list there.
        """
        args = request.args if args is None else args
        filters, args, refusal = self.lenient_filters(args, viewer)
        if refusal:
            # The panel answers 400 with the message beside the fields and keeps the rows of
            # the filters that were fine; the bad URL stays out of the history.
            g.feed_refusal = refusal
        after = parse_cursor(args)
        rows, next_cursor = self.page(viewer, filters, after=after)
        if viewer.id == current_user.id:  # not a preview for someone else (itself recorded)
            record_person_search(self, viewer, filters)
        newest = rows[0].id if rows and after is None else None
        return render_template(
            "feed/panel.html",
            filters=filters,
            filter_error=refusal,
            controls=json.dumps(controls_of(filters)),
            saved_searches=saved_searches(viewer, self.name),
            zone_name=str(viewer.zone()),
            total=self.total(viewer, filters),
            cap=COUNT_CAP,
            chart=chart.build(self, viewer, filters, args),
            poll_url=self._poll_url(args, newest),
            options=self.options(viewer) if self.options else {},
            **self.rows_context(viewer, args, rows, next_cursor),
        )

    def lenient_filters(self, args, viewer=None):
        """Return ``(filters, kept, refusal)``: the filters of ``args`` without the parameters
        and search terms refused, the query string they came from, and the refusals' messages
        (each naming its field or qualifier; None when every filter was fine).

        The ``FilterSet`` checks each parameter and term once and collects every refusal.
        """
        filters = self.filters.read(args, current_user if viewer is None else viewer)
        return filters, filters.kept, filters.refusal

    def rows_context(self, viewer, args, rows, next_cursor):
        """Return what ``feed/rows.html`` needs: the prepared rows and the next page's URL."""
        next_url = None
        if next_cursor is not None:
            pairs = self.filter_args(args) + [("after", next_cursor)]
            next_url = f"{url_for('stream.tab', tab=self.name)}/rows?{urlencode(pairs)}"
        return {"rows": self.prepare_rows(viewer, rows), "next_url": next_url, "feed": self}

    def filter_args(self, args=None):
        """Return the filter part of ``args`` (the query string) as pairs, for URLs."""
        args = request.args if args is None else args
        return [(key, value) for key in self.filter_keys for value in args.getlist(key) if value]

    def url(self, pairs=()):
        """Return the tab's URL with ``pairs`` as its query string."""
        base = url_for("stream.tab", tab=self.name)
        return f"{base}?{urlencode(pairs)}" if pairs else base

    def _poll_url(self, args, since):
        if since is None:
            return None
        pairs = self.filter_args(args) + [("since", since)]
        return f"{url_for(f'{self.name}.new')}?{urlencode(pairs)}"

    # Routes (behind the stream gate: the core mounts the blueprint under /stream/<tab>).

    def rows_view(self):
        """Answer the next page of rows (fragment), or the panel from that point (full page)."""
        if not request.htmx:
            return page_or_fragment(self.panel(current_user))
        filters = self.filters_of(request.args)
        rows, next_cursor = self.page(current_user, filters, after=parse_cursor(request.args))
        record_person_search(self, current_user._get_current_object(), filters)
        context = self.rows_context(current_user, request.args, rows, next_cursor)
        return render_template("feed/rows.html", filters=filters, **context)

    def new_view(self):
        """Answer the "N new" banner: how many visible rows arrived since ``since``."""
        if not request.htmx:  # opened directly: the tab itself, with the same filters
            return redirect(self.url(self.filter_args()))
        raw = request.args.get("since", "")
        since = 0 if raw in ("", "0") else parse_id(raw, "since")  # 0: from the first row
        count = self.newer_count(current_user, self.filters_of(request.args), since)
        return render_template(
            "feed/new_banner.html",
            feed=self,
            count=count,
            cap=COUNT_CAP,
            poll_url=self._poll_url(request.args, since),
            panel_url=self.url(self.filter_args()),
        )

    def export_url(self, args=None, fmt="csv"):
        """Return the export URL of the filters of ``args`` (the query string) in ``fmt``."""
        pairs = [("format", fmt)] + self.filter_args(args)
        return f"{url_for(f'{self.name}.export')}?{urlencode(pairs)}"

    def save_search_view(self):
        """Save the search box's query under a name for the signed-in user (POST, CSRF
        checked by core), then answer the list of their saved searches of this tab."""
        name = " ".join(request.form.get("name", "").split())
        # The box's query (htmx includes it); without JavaScript, the one the page showed.
        form = request.form
        query = (form["q"] if "q" in form else form.get("rendered_q", "")).strip()
        refusal = None
        if not name or len(name) > 80:
            refusal = "name: give the search a name of 1 to 80 characters"
        elif not query or len(query) > MAX_QUERY:
            refusal = f"q: a saved search needs a query of 1 to {MAX_QUERY} characters"
        else:  # a term the panel would refuse is refused here, named the same way
            refusal = self.lenient_filters(MultiDict({"q": query}))[2]
        owned = SavedSearch.select().where(
            (SavedSearch.user_id == current_user.id) & (SavedSearch.tab == self.name)
        )
        existing = owned.where(SavedSearch.name == name).first() if not refusal else None
        if not refusal and existing is None and owned.count() >= SAVED_SEARCHES_PER_TAB:
            refusal = f"name: at most {SAVED_SEARCHES_PER_TAB} saved searches per tab"
        if refusal:
            return self._saved_list_answer(refusal), 400
        if existing is None:
            SavedSearch.create(user_id=current_user.id, tab=self.name, name=name, query=query)
        else:
            existing.query = query
            existing.save()
        return self._saved_list_answer()

    def delete_search_view(self, search_id):
        """Delete one of the signed-in user's saved searches; another's is a 404."""
        deleted = (
            SavedSearch.delete()
            .where(
                (SavedSearch.id == search_id)
                & (SavedSearch.user_id == current_user.id)
                & (SavedSearch.tab == self.name)
            )
            .execute()
        )
        if not deleted:
            abort(404, "There is no such saved search.")
        return self._saved_list_answer()

    def _saved_list_answer(self, refusal=None):
        if not request.htmx and not refusal:
            return redirect(self.url())
        html = render_template(
            "feed/saved_searches.html",
            feed=self,
            saved_searches=saved_searches(current_user, self.name),
            save_error=refusal,
        )
        return html if request.htmx else page_or_fragment(html)

    def detail_view(self, record_id):
        """Show one record in full: inline for htmx, else as a page."""
        record = self.get(current_user, record_id)
        context = self.detail_context(current_user, record) if self.detail_context else {}
        html = render_template(self.detail_template, record=record, **context)
        return page_or_fragment(html)


def controls_of(filters):
    """Return what each control of the filter bar shows for ``filters`` (``{name: value}``),
    so the controls follow a query typed in the box (``static/app.js`` sets them)."""
    controls = getattr(filters, "controls", None)
    return controls() if controls else {}


def plain_data(row):
    """Return ``row`` (a light tuple or a model row) as a dict of JSON values: times as ISO
    8601 UTC (``2026-12-03T18:20:00Z``), other values as they are."""
    values = row._asdict() if hasattr(row, "_asdict") else dict(row.__data__)
    return {
        name: iso_utc(value) if isinstance(value, datetime) else value
        for name, value in values.items()
    }


def iso_utc(moment):
    """Return ``moment`` (a naive UTC datetime, as stored) in ISO 8601 with a ``Z``."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def parse_cursor(args):
    """Return the ``after`` cursor (a record id) or None; a malformed one is a 400."""
    return parse_id(args["after"], "after") if args.get("after") else None


def counted(count, noun, cap=COUNT_CAP):
    """Return ``count`` of ``noun`` as a person reads it: "1 event", "1,000+ events"."""
    if count > cap:
        return f"{cap:,}+ {noun}s"
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
