"""Email: every notification and Private Message, sent from an outbox (being built)."""
