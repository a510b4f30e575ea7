"""The Logins tab's filters, read from the URL: a malformed one is a 400 naming it."""

import ipaddress
from dataclasses import dataclass
from dataclasses import field
from datetime import date

from flask import abort

from core.inputs import parse_day_range
from core.inputs import parse_id
from core.signins import OUTCOMES

FILTER_KEYS = ("user", "outcome", "ip", "country", "from", "to", "q")


@dataclass
class Filters:
    """The Logins tab's filters, as read from the URL."""

    users: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)
    ip: str = ""
    country: str = ""
    date_from: date = None
    date_to: date = None
    text: str = ""
    user_name: str = ""  # filled by the view for the caption: whose history this is

    def active(self):
        """Tell whether any filter is set."""
        return any(
            (
                self.users,
                self.outcomes,
                self.ip,
                self.country,
                self.date_from,
                self.date_to,
                self.text,
            )
        )

    @property
    def caption(self):
        """Return what the list shows beside its total: whose history it is, if one user's."""
        if len(self.users) == 1 and self.user_name:
            return f"sign-in history of {self.user_name}"
        return ""


def parse_filters(args):
    """Read filters from request ``args``; a malformed one is a 400 naming the parameter."""
    date_from, date_to = parse_day_range(args)
    outcomes = [value for value in args.getlist("outcome") if value]
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            abort(400, f"outcome: {outcome[:40]!r} is not one of {', '.join(OUTCOMES)}")
    ip = args.get("ip", "").strip()
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            abort(400, f"ip: {ip[:45]!r} is not an IP address, e.g. 203.0.113.7")
    country = args.get("country", "").strip()
    if country and not (country.isascii() and country.isalpha() and len(country) <= 16):
        abort(400, f"country: expected a country code like DE, or private, got {country[:20]!r}")
    return Filters(
        users=[parse_id(value, "user") for value in args.getlist("user") if value],
        outcomes=outcomes,
        ip=ip,
        country=country.upper() if len(country) == 2 else country.lower(),
        date_from=date_from,
        date_to=date_to,
        text=args.get("q", "").strip()[:200],
    )
