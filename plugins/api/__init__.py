"""The HTTP API: personal tokens, events recorded from other systems, and every list tab read
as JSON under the same visibility as the UI.

``tokens`` makes, checks and revokes tokens; ``gate`` lets a request in by its token and acts
as its person; ``problems`` answers every refusal as ``application/problem+json``; ``routes``
holds the blueprint at ``/api/v1``.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from plugins.api import routes
from plugins.api.tokens import MODELS


@hookimpl
def register_models():
    """Return the API's tables."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Create the tokens' table."""
    return [Migration("api.0001_tokens", create_tables(*MODELS))]


@hookimpl
def register_blueprints(app):
    """Mount the API at ``/api/v1``."""
    routes.init_app(app)
