"""How recorded fields read on the Activity tab: what the platform declares once through the
``describe_fields`` hook, and each value as a person reads it.

A declaration names a field's label, the words of its stored choices (``in_progress`` reads
"In progress") and its kind: ``text`` (shown as a word diff, ``plugins.activity.changeset``),
``colour`` (a swatch beside the value), ``time`` (in the viewer's zone, the zone named) or
``date``. Values whose shape says what they are need no declaration: ``#4f46e5`` is a colour,
``2026-12-03 07:55:23`` (a time to the second, as machines write them) a UTC time. The
declarations are collected once per app, at start-up, where a malformed one stops it.
"""

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime

from flask import current_app
from markupsafe import Markup
from markupsafe import escape

from core.events.changes import as_words
from core.plugins import PluginError
from core.plugins import call_at_startup
from core.templating import local_time

KINDS = ("text", "colour", "time", "date")
KEYS = ("label", "choices", "kind")
EXTENSION = "activity_fields"
NOTHING = "—"
COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# A time to the second, as ``str(datetime)`` and ``isoformat`` write it, maybe with its zone;
# times typed by people ("10:30") carry no seconds and are left as typed.
TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?P<zone>Z| ?UTC|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True)
class Field:
    """How one field reads: its label, its choices' words, its kind ("" when undeclared)."""

    label: str
    choices: dict = field(default_factory=dict)
    kind: str = ""


def collect(app):
    """Ask every plugin's ``describe_fields`` once and keep the merged declarations on ``app``
    (a later plugin's word wins); a malformed declaration stops start-up, naming it."""
    declared = {}
    # ``call_at_startup`` answers last registered first: merge the other way round.
    for answer in reversed(call_at_startup(app, "describe_fields")):
        for kind, fields in _checked(answer).items():
            for name, declaration in fields.items():
                declared.setdefault(kind, {}).setdefault(name, {}).update(declaration)
    app.extensions[EXTENSION] = {
        kind: {name: _field(name, declaration) for name, declaration in fields.items()}
        for kind, fields in declared.items()
    }
    return app.extensions[EXTENSION]


def _checked(answer):
    """Return ``answer`` with each field's choices as a dict; raise ``PluginError`` naming
    what is malformed."""
    if not isinstance(answer, dict):
        raise PluginError(f"describe_fields: expected a dict by object type, got {answer!r:.60}")
    checked = {}
    for kind, fields in answer.items():
        if not isinstance(fields, dict):
            raise PluginError(f"describe_fields: {kind}: expected a dict by field")
        for name, declaration in fields.items():
            where = f"describe_fields: {kind}.{name}"
            if not isinstance(declaration, dict) or set(declaration) - set(KEYS):
                raise PluginError(f"{where}: expected a dict of {', '.join(KEYS)}")
            if declaration.get("kind", "text") not in KINDS:
                raise PluginError(f"{where}: kind must be one of {', '.join(KINDS)}")
            declaration = dict(declaration)
            if "choices" in declaration:
                try:
                    choices = dict(declaration["choices"]).items()
                    declaration["choices"] = {str(k): str(v) for k, v in choices}
                except (TypeError, ValueError) as error:
                    raise PluginError(f"{where}: choices must be a dict or pairs") from error
            checked.setdefault(kind, {})[name] = declaration
    return checked


def _field(name, declaration):
    return Field(
        label=declaration.get("label") or as_words(name),
        choices=declaration.get("choices", {}),
        kind=declaration.get("kind", ""),
    )


def declared(app=None):
    """Return the declarations of ``app`` (the current one): ``{type: {field: Field}}``."""
    app = app or current_app
    found = app.extensions.get(EXTENSION)
    return found if found is not None else collect(app)


def field_of(fields, name):
    """Return the ``Field`` ``name`` of ``fields`` (one type's declarations), declared or not."""
    found = fields.get(name)
    return found if found is not None else Field(label=as_words(name))


def shown(declaration, value, zone):
    """Return one recorded value as a person reads it (``Markup``): a choice's words, a colour
    with its swatch, a time in ``zone``, a list as a list, nothing as a dash."""
    if value is None or value == "":
        return Markup(NOTHING)
    if isinstance(value, list):
        return Markup(", ").join(shown(declaration, item, zone) for item in value) or "none"
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    text = str(value)
    if text in declaration.choices:
        return escape(declaration.choices[text])
    if declaration.kind == "colour" or (declaration.kind == "" and COLOUR.fullmatch(text)):
        return swatched(text)
    if declaration.kind in ("", "time"):
        moment = as_time(text)
        if moment is not None:
            return escape(local_time(moment, zone=zone))
    return escape(text)


def swatched(text):
    """Return a colour's value with a swatch before it: an inline SVG (its ``fill`` is an
    attribute, which the style policy allows), hidden from screen readers, which read the
    value."""
    if not COLOUR.fullmatch(text):
        return escape(text)
    return Markup(
        '<span class="colour"><svg class="swatch" viewBox="0 0 12 12" width="12" height="12"'
        ' aria-hidden="true" focusable="false"><rect x="0.5" y="0.5" width="11" height="11"'
        ' rx="2" fill="{}"/></svg>{}</span>'
    ).format(text, text)


def as_time(text):
    """Return the aware time ``text`` writes (a zone-less one is UTC, as every stored time
    here), or None when it is not a time to the second."""
    found = TIME.fullmatch(text.strip())
    if found is None:
        return None
    zone = found.group("zone") or ""
    plain = text.strip()[: len(text.strip()) - len(zone)].replace(" ", "T")
    try:
        moment = datetime.fromisoformat(plain + ("" if zone.strip() in ("", "UTC") else zone))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
