"""One signature for every request the app signs or receives, as Stripe signs its webhooks.

``Activity-Stream-Signature: t=<unix seconds>,v1=<hex>``: an HMAC-SHA256, keyed with a shared
secret, of ``"<t>.<body>"`` (the body's exact bytes). The time inside the signed text lets a
receiver refuse a replayed request (``tolerance``); several ``v1`` values (a sender rotating
its secret) and several secrets (a receiver rotating its own) are allowed; every comparison is
in constant time, so the secret does not leak through timing. Log streams sign what they send
with it (``plugins.streams``); the Email tab checks a provider's delivery events with it.
"""

import hashlib
import hmac
import time

HEADER = "Activity-Stream-Signature"
TOLERANCE = 300  # seconds a receiver accepts between the signing and its own clock
UNSIGNED, MALFORMED = 401, 400


class BadSignature(ValueError):
    """The signature is missing, malformed, stale or wrong; the message names the header and
    says which, and ``status`` is the HTTP answer (400 malformed, else 401)."""

    def __init__(self, message, status=UNSIGNED):
        super().__init__(f"{HEADER}: {message}")
        self.status = status


def signature(secret, timestamp, body):
    """Return the hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with ``secret``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def header_value(secret, body, timestamp=None):
    """Return the signature header's value for ``body`` sent now (or at ``timestamp``)."""
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secrets, header, body, tolerance=TOLERANCE, now=None):
    """Check a received request's signature ``header`` against its exact ``body``: one ``t``
    within ``tolerance`` seconds of now, and a ``v1`` made with one of ``secrets`` (a string,
    or several for a rotation). Return ``t``; raise ``BadSignature`` naming the problem."""
    if isinstance(secrets, str):
        secrets = [secrets]
    if not header:
        raise BadSignature("missing; sign the body")
    parts = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise BadSignature("malformed, expected t=<unix time>,v1=<hex>", MALFORMED)
        parts.setdefault(key, []).append(value)
    stamps = parts.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12:
        raise BadSignature("needs one t=<unix time>", MALFORMED)
    if not parts.get("v1"):
        raise BadSignature("needs a v1=<hex HMAC-SHA256> signature", MALFORMED)
    timestamp = int(stamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise BadSignature(f"t is more than {tolerance} seconds from now (stale)")
    matched = False
    for secret in secrets:
        expected = signature(secret, timestamp, body)
        for given in parts["v1"]:
            # Every pair compared, in constant time, whatever matched before.
            matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise BadSignature("no v1 signature matches (wrong secret or altered body)")
    return timestamp
