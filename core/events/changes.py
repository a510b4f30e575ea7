"""Field-level change capture for the service layer: what changed, with secrets masked."""

from datetime import date
from datetime import datetime
from decimal import Decimal

MASK = "(hidden)"


def snapshot(instance, fields):
    """Return ``{field: value}`` of ``instance`` for ``fields``, as JSON-safe values."""
    return {field: plain(getattr(instance, field)) for field in fields}


def plain(value):
    """Return ``value`` as something JSON can hold and a person can read."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(plain(item) for item in value)
    label = getattr(value, "label", None) or getattr(value, "name", None)
    return str(label if label is not None else value)


def diff(before, after, exclude=(), masked=()):
    """Return ``{field: [old, new]}`` for the fields whose value changed.

    ``before`` is None for a creation, ``after`` None for a deletion. Fields in ``exclude``
    are never recorded; fields in ``masked`` are recorded as changed without their values.
    """
    before = before or {}
    after = after or {}
    changes = {}
    for field in sorted(set(before) | set(after)):
        if field in exclude:
            continue
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        changes[field] = [MASK, MASK] if field in masked else [old, new]
    return changes


def as_words(name):
    """Return a type or field name as a person reads it: ``due_date`` → ``Due date``.

    Names already written for people (``rows seen by role Teammate``) are left as they are.
    """
    if not name.replace("_", "").replace(".", "").isalnum() or name.lower() != name:
        return name
    words = name.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:]


def summarize(changes, limit=300):
    """Return a short human line of ``changes``: ``Status: open → done; Title: A → B``."""
    parts = []
    for field, (old, new) in changes.items():
        name = as_words(field)
        if old == MASK:
            parts.append(f"{name} changed")
        elif old in (None, "", []):
            parts.append(f"{name}: {_short(new)}")
        else:
            parts.append(f"{name}: {_short(old)} → {_short(new)}")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value, limit=60):
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value) or "none"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
