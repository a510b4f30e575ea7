"""Invoices: the platform's billing as a stream tab, from a package outside Activity Stream.

The table, its recorder (the only way rows are written, in the caller's transaction), the
tab's one visibility query, its ``Feed``, and the hooks giving them to Activity Stream.
"""

import random

import peewee
from markupsafe import Markup
from markupsafe import escape

from core import hookimpl
from core.db import BaseModel
from core.db import database
from core.db import utcnow
from core.demo import demo_users
from core.events import Audience
from core.events import Ref
from core.events import record_activity
from core.listing.feed import Feed
from core.listing.filters import FilterSet
from core.listing.filters import Person
from core.listing.filters import Qualifier
from core.listing.sql import bounded
from core.migrations import Migration
from core.migrations import create_tables
from core.people import User
from core.records import all_or_nothing
from core.records import allocate_ids
from core.records import insert_many
from core.search.index import TextIndex
from core.tabs import row_scope
from core.templating import local_time

STATUSES = ("draft", "sent", "paid", "overdue")


class Invoice(BaseModel):
    """One invoice as issued; the customer and owner names are copied in."""

    id = peewee.BigAutoField()
    issued_at = peewee.DateTimeField(default=utcnow)
    number = peewee.CharField(max_length=32)
    customer = peewee.CharField(max_length=200)
    amount_cents = peewee.BigIntegerField()
    status = peewee.CharField(max_length=16)
    owner_id = peewee.IntegerField()
    owner_name = peewee.CharField(max_length=120)

    class Meta:
        indexes = ((("owner_id", "id"), False), (("status", "id"), False))


COLUMNS = ["issued_at", "number", "customer", "amount_cents", "status", "owner_id", "owner_name"]


def record_invoice(actor, owner, number, customer, amount_cents, status="sent"):
    """Write one invoice and its Activity event in the caller's transaction; return its id."""
    if status not in STATUSES:
        raise ValueError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    row = (utcnow(), number, customer, int(amount_cents), status, owner.id, owner.name)
    with all_or_nothing("invoice_record"):
        cursor = database.cursor()
        (invoice_id,) = allocate_ids("invoice", 1, cursor)
        insert_many(cursor, "invoice", ["id", *COLUMNS], [(invoice_id, *row)])
        audience = Audience(users={owner.id})
        ref = Ref("invoice", invoice_id, number)
        record_activity(actor, "invoice.issued", ref, audience=audience, summary=customer)
    return invoice_id


# Its qualifiers, declared: ``owner:dana status:paid -status:draft created:>2026-01-01 acme``.
INDEX = TextIndex(name="invoice_search", table="invoice", columns=("number", "customer"))
FILTERS = FilterSet(
    Person("owner", "owners", column=Invoice.owner_id),
    Qualifier("status", "statuses", column=Invoice.status, normal=str.lower, choices=STATUSES),
    words=INDEX,
    days=Invoice.issued_at,
)


def visible_invoices(viewer, filters, columns=None, older_than=None, newer_than=None, limit=None):
    """Return the invoices ``viewer`` may see, newest first: every one for the ``all`` scope,
    else those the viewer or a member of one of their teams owns."""
    query = Invoice.select(*(columns or [Invoice])).order_by(Invoice.id.desc())
    query = bounded(query, Invoice.id, older_than, newer_than)
    if row_scope(viewer, "invoices") != "all":
        query = query.where(Invoice.owner_id.in_(viewer.related_user_ids()))
    query = FILTERS.where(query, filters, viewer)
    matching = INDEX.condition(Invoice.id, filters.words, older_than, newer_than)
    query = query if matching is None else query.where(matching)
    return query.limit(limit) if limit else query


def choices(viewer):
    """Return the filter bar's choices: the people who may own an invoice, the statuses."""
    staff = User.select(User.id, User.name).order_by(User.name)
    return {"owners": [(u.id, u.name) for u in staff], "statuses": [(s, s) for s in STATUSES]}


def prepare_rows(viewer, rows):
    """Return each invoice with its amount and time as the viewer reads them."""
    zone = viewer.zone()
    return [
        {
            "invoice": row,
            "amount": f"{row.amount_cents / 100:,.2f}",
            "local": local_time(row.issued_at, zone=zone),
        }
        for row in rows
    ]


FEED = Feed(
    name="invoices",
    label="Invoices",
    noun="invoice",
    model=Invoice,
    records=visible_invoices,
    read=list,
    filters=FILTERS,
    prepare_rows=prepare_rows,
    options=choices,
    detail_template="invoices/detail.html",
    empty_text="No invoices yet.",
    import_name=__name__,
)


@hookimpl
def register_models():
    """Return the invoice table."""
    return [Invoice]


@hookimpl
def register_migrations():
    """Create the invoice table."""
    return [
        Migration("invoices.0001_tables", create_tables(Invoice)),
        Migration("invoices.0002_full_text", INDEX.create),
    ]


@hookimpl
def register_tabs():
    """Add the Invoices tab after Logins."""
    return [FEED.tab(order=40)]


@hookimpl
def describe_event(event):
    """Phrase an issued invoice on the Activity tab: "Avery Chen issued invoice INV-0007"."""
    if event.verb != "invoice.issued":
        return None
    return Markup(
        f"<strong>{escape(event.actor_name)}</strong> issued invoice "
        f"<strong>{escape(event.object_label)}</strong>"
    )


@hookimpl(trylast=True)  # after the built-in demo history, which seeds only an empty stream
def seed_demo():
    """Issue a few invoices through the recorder, once."""
    if Invoice.select().exists():
        return
    people = demo_users()
    staff = [user for user in people.values() if user.is_staff]
    rng = random.Random(11)
    for number in range(1, 31):
        record_invoice(
            people["admin@example.com"],
            rng.choice(staff),
            f"INV-{number:04d}",
            rng.choice(["Acme Corp", "Globex", "Initech"]),
            rng.randrange(5_000, 500_000),
            rng.choice(STATUSES),
        )
