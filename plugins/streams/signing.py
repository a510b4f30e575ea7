"""Signing a request to a destination, and checking one as a receiver should.

Each request carries ``Activity-Stream-Signature: t=<unix seconds>,v1=<hex>``: an HMAC-SHA256,
keyed with the destination's secret, of ``"<t>.<body>"`` (the body's exact bytes), as Stripe
signs its webhooks. The time inside the signed text lets a receiver refuse a replayed request
(``tolerance``); comparing in constant time keeps the secret from leaking through timing.
``verify`` is the receiver's side, used by the tests and shown in docs/streams.md.
"""

import hashlib
import hmac
import time

HEADER = "Activity-Stream-Signature"
TOLERANCE = 300  # seconds a receiver should accept between the signing and its clock


def signature(secret, timestamp, body):
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def header_value(secret, body, timestamp=None):
    """Return the signature header's value for ``body`` sent now (or at ``timestamp``)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


class BadSignature(ValueError):
    """The request's signature is missing, malformed, stale or wrong (the message says)."""


def verify(secret, header, body, tolerance=TOLERANCE, now=None):
    """Check a received request: its signature header and its exact body. Raises
    ``BadSignature`` unless one ``v1`` matches and ``t`` is within ``tolerance`` seconds."""
    parts = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        raise BadSignature("no timestamp (t=) in the signature header")
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise BadSignature("the signature is too old or from the future")
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parts.get("v1", [])):
        raise BadSignature("no v1 signature matches")
    return timestamp
