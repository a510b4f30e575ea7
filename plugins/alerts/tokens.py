"""Unsubscribe tokens: which rule, whose, signed with the app's secret key.

The token is the only proof an unsubscribe link carries (its page needs no sign-in), so it
is signed (itsdangerous, HMAC with ``SECRET_KEY`` and a salt of this plugin's own: a token
made for another purpose never passes here). It does not expire: an old mail's link must
still stop what it is about.
"""

from flask import current_app
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

SALT = "alerts.unsubscribe"


def _serializer():
    return URLSafeSerializer(current_app.secret_key, salt=SALT)


def make_token(rule):
    """Return the unsubscribe token of ``rule`` (an ``AlertRule``)."""
    return _serializer().dumps({"r": rule.id, "u": rule.user_id, "k": rule_key(rule)})


def rule_key(rule):
    """Return what ``rule`` is about: its saved search's id, or its built-in's key. Checked
    with the id, so a link never stops a later rule that took a deleted rule's id."""
    return rule.builtin or rule.search_id


def read_token(token):
    """Return ``(rule id, user id, key)`` of a token this app signed, or None for a forged,
    altered or malformed one."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    rule_id, user_id, key = payload.get("r"), payload.get("u"), payload.get("k")
    if not (isinstance(rule_id, int) and isinstance(user_id, int)):
        return None
    return rule_id, user_id, key


def unsubscribe_url(rule):
    """Return the public unsubscribe link of ``rule`` (under ``PUBLIC_URL``)."""
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{base}/alerts/unsubscribe/{make_token(rule)}"
