"""The Email tab's filters, declared (``core.listing.filters``): the search box (``q``:
``from:``, ``to:``, ``status:``, ``delivery:``, ``kind:``, ``created:`` and free words) and the
filter bar's parameters, two views of one state."""

from core.listing.filters import FilterSet
from core.listing.filters import Person
from core.listing.filters import Qualifier
from core.listing.filters import folded
from core.listing.filters import lowered
from core.search.index import TextIndex
from plugins.email.models import DELIVERIES
from plugins.email.models import STATUSES
from plugins.email.models import SUPPRESSED
from plugins.email.models import EmailMessage

MAX_KIND = 64


def _states(values):
    """Return the condition "in one of these delivery states" (``suppressed`` by status)."""
    states = [value for value in values if value != SUPPRESSED]
    parts = [EmailMessage.delivery.in_(states)] if states else []
    if SUPPRESSED in values:
        parts.append(EmailMessage.status == SUPPRESSED)
    condition = parts[0]
    for part in parts[1:]:
        condition = condition | part
    return condition


FILTERS = FilterSet(
    # A notification has no sender: it is not excluded by one.
    Person("from", "senders", param="sender", column=EmailMessage.sender_id, nulls_pass=True),
    Person("to", "recipients", param="recipient", column=EmailMessage.recipient_id),
    Qualifier("status", "statuses", column=EmailMessage.status, normal=lowered, choices=STATUSES),
    # What the delivery reports say (none: no report yet), or suppressed: a message never sent
    # because its address is suppressed (its status): the badges a row shows, one qualifier.
    Qualifier(
        "delivery",
        "deliveries",
        column=EmailMessage.delivery,
        condition=_states,
        normal=lowered,
        choices=(*DELIVERIES, SUPPRESSED),
    ),
    Qualifier(
        "kind",
        "kinds",
        column=EmailMessage.kind,
        refusal="at most 64 characters",
        normal=lambda value: folded(value) if len(folded(value)) <= MAX_KIND else None,
        param_normal=lambda value: value if len(value) <= MAX_KIND else None,
    ),
    # What a person searches in a message: who sent it, to whom, the subject and the text part.
    words=TextIndex(
        name="email_search",
        table=EmailMessage._meta.table_name,
        columns=("sender_name", "recipient_name", "recipient_email", "subject", "text_body"),
    ),
    days=EmailMessage.queued_at,
)
QUALIFIERS = FILTERS.keys
# Read outside the feed (a bench, a test): a refused filter is a 400 naming it.
parse_filters = FILTERS.parse
