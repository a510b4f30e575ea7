"""The Logins tab's filters, declared (``core.listing.filters``): the search box (``q``: ``user:``,
``outcome:``, ``ip:``, ``country:``, ``created:`` and free words) and the filter bar's
parameters, two views of one state. A row without the field (no account matched, no IP) is not
excluded by it."""

import ipaddress
from functools import cached_property

from core.auth.clients import LOOPBACK
from core.auth.clients import PRIVATE
from core.auth.clients import RESERVED
from core.auth.clients import country_code_named
from core.auth.signins import FAILURES
from core.auth.signins import OUTCOMES
from core.auth.signins import SignInAttempt
from core.listing.filters import Filters
from core.listing.filters import FilterSet
from core.listing.filters import Person
from core.listing.filters import Qualifier
from core.listing.filters import folded
from core.people import User
from core.search.index import TextIndex


def _ip(value):
    """Return ``value`` as an IP address is stored, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _country(value):
    """Return ``value`` as a country is stored (``DE``, ``private``), or None when it is not:
    a code, or a country's name as people write it (``Germany``, ``united kingdom``)."""
    value = value.strip()
    named = country_code_named(value) if len(value) > 2 else None
    if named:
        return named
    if len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    return value.lower() if value.lower() in (LOOPBACK, PRIVATE, RESERVED) else None


class LoginFilters(Filters):
    """The Logins tab's filters, with what its filter bar and caption read."""

    @property
    def ip(self):
        """Return the one IP filtered on, for the filter bar's field ("" for none or several)."""
        return self.controls()["ip"]

    @property
    def country(self):
        """Return the one country filtered on, for the filter bar ("" for none or several)."""
        return self.controls()["country"]

    @cached_property
    def caption(self):
        """Return what the list shows beside its total: whose history it is, if one user's."""
        if len(self.users) != 1:
            return ""
        name = User.select(User.name).where(User.id == self.users[0]).scalar()
        return f"sign-in history of {name}" if name else ""


FILTERS = FilterSet(
    Person("user", "users", column=SignInAttempt.user_id, nulls_pass=True),
    Qualifier(
        "outcome",
        "outcomes",
        column=SignInAttempt.outcome,
        normal=folded,
        choices=OUTCOMES,
        # What a person means by a failure: every attempt that did not sign in.
        groups={"failed": FAILURES, "failure": FAILURES, "failures": FAILURES},
        param_refusal="{got} is not one of {choices}",
    ),
    Qualifier(
        "ip",
        "ips",
        column=SignInAttempt.ip,
        normal=_ip,
        param_normal=_ip,
        cut=45,
        nulls_pass=True,
        refusal="{got} is not an IP address, e.g. 203.0.113.7",
    ),
    Qualifier(
        "country",
        "countries",
        column=SignInAttempt.country,
        normal=_country,
        param_normal=_country,
        cut=20,
        refusal="expected a country like Germany or DE, got {got}",
        param_refusal="expected a country like Germany or DE, or private, got {got}",
    ),
    # What a person searches in the sign-in log: the name typed, the IP, the browser and system.
    words=TextIndex(
        name="logins_search",
        table=SignInAttempt._meta.table_name,
        columns=("name_typed", "ip", "browser", "os", "detail"),
    ),
    days=SignInAttempt.attempted_at,
    filters=LoginFilters,
)
QUALIFIERS = FILTERS.keys
# Read outside the feed (a bench, a test): a refused filter is a 400 naming it.
parse_filters = FILTERS.parse
