"""Who is on the other end of a request: client IP, its country, the browser / OS / device.

The IP is ``request.remote_addr``: with ``ACTIVITY_STREAM_TRUSTED_PROXIES`` = N the app sits
behind werkzeug's ``ProxyFix`` (``core.app``), which takes it from the N-th proxy's
``X-Forwarded-For``; with 0 the header is ignored. The country comes from the offline
database ``geoip2fast`` ships (loaded on first use: ~55 MB per process, so a process that
never records a sign-in never pays for it); private, loopback and other reserved addresses
are named as such. User agents are parsed with ``ua-parser`` and its maintained rules.
"""

import functools
import hashlib
import ipaddress
import re
import threading
from dataclasses import dataclass

from flask import has_request_context
from flask import request

from core.records import clip

LOOPBACK = "loopback"
PRIVATE = "private"
RESERVED = "reserved"
UNKNOWN = ""

_geoip = None
_geoip_lock = threading.Lock()


@dataclass(frozen=True)
class Client:
    """What a record says about the client: IP, country and the parsed user agent."""

    ip: str | None = None
    country: str = UNKNOWN
    browser: str = ""
    os: str = ""
    device: str = ""
    user_agent: str | None = None

    @property
    def label(self):
        """Return "Chrome 120 on Linux" (or what is known of it)."""
        parts = (self.browser, readable_os(self.os))
        return " on ".join(part for part in parts if part) or "Unknown browser"

    @property
    def pair(self):
        """Return the id of this browser-and-IP pair (``pair_of``)."""
        return pair_of(self.ip, self.user_agent)


def current_client():
    """Return the ``Client`` of the current request (an empty one outside a request)."""
    if not has_request_context():
        return Client()
    return describe_client(request.remote_addr, request.headers.get("User-Agent"))


def describe_client(ip, user_agent):
    """Return the ``Client`` for an IP and a raw ``User-Agent`` header (either may be None)."""
    ip = clip(ip, 45) or None
    agent = clip(user_agent, 300) or None
    browser, os_name, device = parse_user_agent(agent or "")
    return Client(ip, country_of(ip), browser, os_name, device, agent)


def pair_of(ip, user_agent):
    """Return the id of a browser-and-IP pair: 64 hex digits hashing the IP with the browser,
    OS and device families of ``user_agent`` (the raw header, as a ``Client`` keeps it).

    Versions are left out, so a browser that updates itself stays the same browser; what
    keeps a pair hard to borrow is its IP, which a client cannot choose over TCP.
    """
    families = agent_families(clip(user_agent, 300) or "")
    text = "\n".join((clip(ip, 45) or "", *families))
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def agent_families(user_agent):
    """Return ``(browser, os, device)`` families of a ``User-Agent``, without versions."""
    if not user_agent:
        return "", "", ""
    result = _parse(user_agent)
    return tuple(
        part.family if part is not None and part.family not in (None, "Other") else ""
        for part in (result.user_agent, result.os, result.device)
    )


@functools.lru_cache(maxsize=1024)
def _parse(user_agent):
    import ua_parser  # its rules load on the first parse (~0.1 s), not at import

    return ua_parser.parse(user_agent)


@functools.lru_cache(maxsize=4096)
def parse_user_agent(user_agent):
    """Return ``(browser, os, device)`` labels for a ``User-Agent`` string ("" when unknown).

    An uncached parse costs ~0.9 ms (hundreds of regular expressions, tried in order); the
    same few agents sign in again and again, so an LRU makes a repeat ~1 µs.
    """
    if not user_agent:
        return "", "", ""
    result = _parse(user_agent)
    return _label(result.user_agent), _os_label(result.os), _device(result.device)


# Systems the parser's rules name otherwise than people and their makers do today. Only the
# labels change: ``agent_families`` keeps the rules' names, so a known browser stays known.
OS_NAMES = {"Mac OS X": "macOS", "Mac OS": "macOS", "Chrome OS": "ChromeOS"}
# ChromeOS agents carry the platform's build number (14541), not a version people know.
OS_WITHOUT_VERSION = {"ChromeOS"}


def _label(part):
    if part is None or part.family in (None, "Other"):
        return ""
    return clip(" ".join(str(p) for p in (part.family, part.major) if p), 64)


def _os_label(part):
    """Return an OS as people name it: "macOS 14", "macOS 10.15" (the 10 line was numbered
    by its minor version), "ChromeOS", "Windows 10"."""
    if part is None or part.family in (None, "Other"):
        return ""
    name = OS_NAMES.get(part.family, part.family)
    version = part.major
    if name in OS_WITHOUT_VERSION:
        version = None
    elif name == "macOS" and part.major == "10" and part.minor:
        version = f"10.{part.minor}"
    return clip(" ".join(p for p in (name, version) if p), 64)


def readable_os(label):
    """Return a recorded OS label as people name the system today: a row recorded as
    "Mac OS X 14" reads "macOS 14", "Chrome OS 14541" reads "ChromeOS"; others as recorded."""
    match = _RENAMED.match(label or "")
    if not match:
        return label or ""
    name = OS_NAMES[match["family"]]
    if name in OS_WITHOUT_VERSION or not match["version"]:
        return name
    return f"{name} {match['version']}"


# A label as ``_label`` wrote it before the rename: a family, then a version (or nothing).
_RENAMED = re.compile(
    "^(?P<family>"
    + "|".join(re.escape(family) for family in sorted(OS_NAMES, key=len, reverse=True))
    + r")(?: (?P<version>\d[\d.]*))?$"
)


def _device(device):
    if device is None or device.family in (None, "Other"):
        return ""
    return clip(device.family, 64)


@functools.lru_cache(maxsize=8192)
def country_of(ip):
    """Return the ISO country code of ``ip``, ``loopback`` / ``private`` / ``reserved`` for
    addresses that are not on the public internet, or "" when unknown or malformed."""
    if not ip:
        return UNKNOWN
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return UNKNOWN
    if address.is_loopback:
        return LOOPBACK
    if address.is_private or address.is_link_local:
        return PRIVATE
    if address.is_reserved or address.is_multicast or address.is_unspecified:
        return RESERVED
    code = _geoip_database().lookup(str(address)).country_code
    if not code or len(code) != 2 or not code.isalpha():
        # geoip2fast answers "--" for ranges it knows as special (shared address space…).
        return RESERVED if code == "--" else UNKNOWN
    return code.upper()


def _geoip_database():
    global _geoip
    if _geoip is None:
        with _geoip_lock:
            if _geoip is None:
                from geoip2fast import GeoIP2Fast

                # The IPv6 file holds the IPv4 ranges too.
                _geoip = GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz")
    return _geoip


def country_label(code):
    """Return how a country code reads in a row: "DE", "loopback", "—" when unknown."""
    return code or "—"


@functools.lru_cache(maxsize=1)
def _country_names():
    """Return ``{code: name}`` of every country the offline database names (``DE``:
    ``Germany``), read from its own list: no second source to drift from it."""
    _geoip_database()
    from geoip2fast import geoip2fast as module

    names = getattr(module, "geoipCountryNamesDict", None) or {}
    return {
        code.upper(): name
        for code, name in names.items()
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and name
    }


def country_name(code):
    """Return the name of the country ``code`` ("Germany" for ``DE``), or None."""
    return _country_names().get((code or "").upper())


def country_code_named(name):
    """Return the code of the country called ``name`` (any case, "germany" → ``DE``), or
    None when no country has that name."""
    wanted = " ".join(name.split()).casefold()
    return next(
        (code for code, known in _country_names().items() if known.casefold() == wanted), None
    )
