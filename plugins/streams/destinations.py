"""Adding, listing and removing destinations: one set of rules for Settings and the command line.

A destination is refused, with a message naming the field, when its URL is not HTTPS (plain
HTTP only to this machine, for a local collector), a tab is not a list tab its owner may see,
its search is refused by a chosen tab's search box, or its secret is shorter than 16 characters.
The owner, whose visibility the records are read under, is the Super Admin or an Admin.
"""

import ipaddress
import secrets
from urllib.parse import urlsplit

from werkzeug.datastructures import MultiDict

from core.db import database
from core.listing.follow import start_cursor
from core.people import User
from core.search.language import MAX_QUERY
from core.tabs import all_tabs
from core.tabs import visible_tabs
from plugins.streams.models import ACTIVE
from plugins.streams.models import StreamCursor
from plugins.streams.models import StreamDelivery
from plugins.streams.models import StreamDestination

MAX_DESTINATIONS = 20
MIN_SECRET = 16
LOOPBACK_NAMES = ("localhost", "localhost.")


class Refused(ValueError):
    """A destination was refused; ``errors`` maps each field to its message."""

    def __init__(self, errors):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def list_tabs():
    """Return every tab with a list (what a stream can send), in tab-bar order."""
    return [tab for tab in all_tabs() if tab.feed is not None]


def new_secret():
    """Return a new random signing secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_url(url):
    """Return the refusal of ``url`` as a destination, or None when it is fine."""
    if not url:
        return "url: give the URL records are sent to"
    if len(url) > 2000:
        return "url: at most 2,000 characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        return f"url: {url[:80]!r} is not a URL"
    if parts.scheme not in ("https", "http") or not host:
        return f"url: expected an https:// URL, got {url[:80]!r}"
    if parts.username or parts.password:
        return "url: leave credentials out of the URL; the secret signs each request"
    if parts.fragment:
        return "url: a URL sent to has no #fragment"
    if parts.scheme == "http" and not is_loopback(host):
        return "url: plain http:// only to this machine (127.0.0.1, ::1, localhost); use https://"
    return None


def is_loopback(host):
    """Tell whether ``host`` names this machine (a loopback address or ``localhost``)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check(owner, name, url, tabs, query, secret):
    """Return the destination's fields, checked and normalised; raise ``Refused`` naming
    every field refused."""
    errors = {}
    name = " ".join((name or "").split()) or (urlsplit(url or "").hostname or "")[:80]
    if not name or len(name) > 80:
        errors["name"] = "name: give the destination a name of 1 to 80 characters"
    refusal = check_url((url or "").strip())
    if refusal:
        errors["url"] = refusal
    if owner is None or not owner.is_active or not owner.is_admin:
        errors["owner"] = "owner: the Super Admin or an active Admin, whose view is sent"
    chosen = [tab.strip() for tab in tabs or () if tab.strip()]
    known = {tab.name: tab for tab in list_tabs()}
    seen = {tab.name for tab in visible_tabs(owner)} if "owner" not in errors else set()
    for tab_name in chosen:
        if tab_name not in known:
            errors["tabs"] = f"tabs: {tab_name[:40]!r} is not a list tab; use {', '.join(known)}"
        elif "owner" not in errors and tab_name not in seen:
            errors["tabs"] = f"tabs: {owner.name} may not see the {known[tab_name].label} tab"
    query = (query or "").strip()
    if len(query) > MAX_QUERY:
        errors["query"] = f"query: at most {MAX_QUERY} characters"
    elif query and "tabs" not in errors and "owner" not in errors:
        for tab_name in chosen or [name for name in known if name in seen]:
            feed = known[tab_name].feed
            refusal = feed.filters.read(MultiDict({"q": query}), owner).refusal
            if refusal:
                label = known[tab_name].label
                errors["query"] = f"query: on the {label} tab, {refusal} (choose the tabs it fits)"
                break
    secret = secret or ""
    if not MIN_SECRET <= len(secret) <= 200 or not secret.isprintable() or " " in secret:
        errors["secret"] = f"secret: {MIN_SECRET} to 200 characters without spaces"
    if errors:
        raise Refused(errors)
    return {
        "name": name,
        "url": url.strip(),
        "tabs": ",".join(dict.fromkeys(chosen)),
        "query": query,
        "secret": secret,
        "owner_id": owner.id,
    }


def add(owner, name, url, tabs=(), query="", secret=None, created_by=None):
    """Add a destination read as ``owner`` sees the stream, starting with the records
    committed from now on; return it. Raises ``Refused``."""
    fields = check(owner, name, url, tabs, query, secret)
    if StreamDestination.select().count() >= MAX_DESTINATIONS:
        raise Refused({"url": f"url: at most {MAX_DESTINATIONS} destinations"})
    with database.atomic():
        destination = StreamDestination.create(
            **fields, created_by=created_by.id if created_by else None, state=ACTIVE
        )
        # Every tab starts at its newest record: a new destination gets what happens next,
        # not the whole history (the export and the API are for that).
        for tab in list_tabs():
            StreamCursor.create(
                destination_id=destination.id, tab=tab.name, last_id=start_cursor(tab.feed)
            )
    return destination


def remove(destination_id):
    """Remove a destination, its places and its delivery log; tell whether it existed."""
    with database.atomic():
        StreamCursor.delete().where(StreamCursor.destination_id == destination_id).execute()
        StreamDelivery.delete().where(StreamDelivery.destination_id == destination_id).execute()
        return bool(
            StreamDestination.delete().where(StreamDestination.id == destination_id).execute()
        )


def default_owner():
    """Return the Super Admin (the first active one), whose view a command-line destination
    sends; None when there is none."""
    owners = User.select().where(User.active == True)  # noqa: E712 (SQL, not Python)
    return next((user for user in owners.order_by(User.id) if user.is_owner), None)
