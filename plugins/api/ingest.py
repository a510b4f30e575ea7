"""Recording events sent by other systems: ``POST /api/v1/events``."""

MODELS = []
MIGRATIONS = []


def attach(bp):
    """Add the ingest routes to the API's blueprint ``bp``."""
