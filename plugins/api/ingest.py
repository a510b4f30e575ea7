"""Recording events sent by other systems: ``POST /api/v1/events`` (see docs/ingest.md).

``EVENT_SCHEMA`` describes one event (JSON Schema 2020-12, for the API's description);
``event_checks`` checks events against it, ``ingest_view`` answers the route, ``idempotency``
and ``rates`` keep their tables here.
"""

from core.config import ConfigError
from core.migrations import Migration
from core.migrations import create_tables
from plugins.api.idempotency import IdempotencyKey
from plugins.api.rates import ApiRate

# Limits of one event, shared by the schema and the validator.
VERB_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
TYPE_PATTERN = r"^[a-z][a-z0-9_]*$"
METADATA_BYTES = 4096  # the metadata as compact UTF-8 JSON
CHANGES_LIMIT = 100  # fields in ``changes``
AUDIENCE_LIMIT = 100  # people, and teams, in ``audience``
BATCH_LIMIT = 1000
ID_MAX = 2**31 - 1  # people and teams have 32-bit ids

_REF = {
    "type": "object",
    "required": ["type", "id", "label"],
    "additionalProperties": False,
    "properties": {
        "type": {
            "type": "string",
            "pattern": TYPE_PATTERN,
            "maxLength": 32,
            "description": "What kind of thing, lower case: invoice, order_line.",
        },
        "id": {
            "type": ["string", "integer"],
            "minLength": 1,
            "maxLength": 64,
            "description": "Its id in the sending system (kept as text, at most 64 characters).",
        },
        "label": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "description": "How a person names it; copied into the event.",
        },
    },
}

_PERSON = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": ID_MAX, "description": "A person's id."},
        {"type": "string", "format": "email", "maxLength": 254, "description": "Their email."},
    ]
}

EVENT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Event",
    "description": (
        "One event recorded from another system. POST one event, or an array of at most "
        f"{BATCH_LIMIT}, to /api/v1/events."
    ),
    "type": "object",
    "required": ["actor", "verb", "object"],
    "additionalProperties": False,
    "properties": {
        "actor": {
            "description": (
                "Who did it: a person of this install by id or by email, or an actor of the "
                "sending system (external_id and name)."
            ),
            "oneOf": [
                {
                    "type": "object",
                    "required": ["id"],
                    "additionalProperties": False,
                    "properties": {"id": {"type": "integer", "minimum": 1, "maximum": ID_MAX}},
                },
                {
                    "type": "object",
                    "required": ["email"],
                    "additionalProperties": False,
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": 254}
                    },
                },
                {
                    "type": "object",
                    "required": ["external_id", "name"],
                    "additionalProperties": False,
                    "properties": {
                        "external_id": {"type": "string", "minLength": 1, "maxLength": 64},
                        "name": {"type": "string", "minLength": 1, "maxLength": 120},
                    },
                },
            ],
        },
        "verb": {
            "type": "string",
            "pattern": VERB_PATTERN,
            "maxLength": 64,
            "description": (
                "Dotted, lower case: invoice.paid. Its last part (at most 32 characters) is the "
                "action the Activity tab filters on."
            ),
        },
        "object": {**_REF, "description": "What it was done to."},
        "target": {
            "anyOf": [{**_REF}, {"type": "null"}],
            "description": "Where, or to what, it was done (optional).",
        },
        "changes": {
            "type": "object",
            "maxProperties": CHANGES_LIMIT,
            "propertyNames": {"minLength": 1, "maxLength": 64},
            "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2},
            "description": 'What changed, field by field: {"status": ["open", "paid"]}.',
        },
        "audience": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "people": {"type": "array", "maxItems": AUDIENCE_LIMIT, "items": _PERSON},
                "teams": {
                    "type": "array",
                    "maxItems": AUDIENCE_LIMIT,
                    "items": {"type": "integer", "minimum": 1, "maximum": ID_MAX},
                },
            },
            "description": (
                "Who else it relates to, beyond the actor and the actor's teams: people (by id "
                "or email) and teams (by id). Each must exist."
            ),
        },
        "occurred_at": {
            "type": "string",
            "format": "date-time",
            "description": (
                "When it happened, ISO 8601 with a time zone (2026-05-01T09:30:00Z). Defaults "
                "to now; a time more than a few minutes ahead, or older than the install "
                "allows (a year by default), is refused."
            ),
        },
        "metadata": {
            "type": "object",
            "description": (
                f"Free JSON object kept with the event and shown in its detail; at most "
                f"{METADATA_BYTES} bytes as compact JSON."
            ),
        },
    },
}

# Settings (``ACTIVITY_STREAM_<name>``), checked when the API is mounted.
SETTINGS = {
    "API_RATE_LIMIT": (600, 1, 1_000_000),  # requests per minute per token
    "API_MAX_BODY": (1024 * 1024, 1024, 2 * 1024 * 1024),  # bytes; the site's limit is 2 MB
    "API_CLOCK_SKEW": (300, 0, 86400),  # seconds an event's time may be ahead of ours
    "API_EVENT_MAX_AGE_DAYS": (365, 1, 36500),  # an older event is refused
    "API_IDEMPOTENCY_HOURS": (24, 1, 24 * 30),  # how long a key is remembered
    "API_IDEMPOTENCY_WAIT": (10, 0.1, 60),  # seconds a retry waits for the first request
}

MODELS = [IdempotencyKey, ApiRate]
MIGRATIONS = [Migration("api_ingest.0001_keys_and_rates", create_tables(*MODELS))]


def check_settings(config):
    """Fill in the ingest's settings missing from ``config`` and check each one: a bad value
    stops start-up with a message naming its variable."""
    for name, (default, low, high) in SETTINGS.items():
        value = config.setdefault(name, default)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise ConfigError(f"ACTIVITY_STREAM_{name}: must be a number from {low} to {high}")


def attach(bp):
    """Add the ingest routes to the API's blueprint ``bp``."""
    from plugins.api import ingest_view

    bp.record_once(lambda state: check_settings(state.app.config))
    bp.add_url_rule("/events", "events", ingest_view.record_events, methods=["POST"])
