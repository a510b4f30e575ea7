"""Reading every list tab as JSON: ``GET /api/v1/<tab>`` and ``GET /api/v1/<tab>/<id>``."""


def attach(bp):
    """Add the read routes to the API's blueprint ``bp``."""
