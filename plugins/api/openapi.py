"""The API described: ``/api/v1/openapi.json`` and the page ``/api/v1/docs``."""


def attach(bp):
    """Add the documents' routes to the API's blueprint ``bp``."""
