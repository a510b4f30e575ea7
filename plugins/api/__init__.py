"""The HTTP API: personal tokens, events recorded from other systems, and every list tab read
as JSON under the same visibility as the UI.

``tokens`` makes, checks and revokes tokens; ``gate`` lets a request in by its token and acts
as its person; ``problems`` answers every refusal as ``application/problem+json``; ``routes``
holds the blueprint at ``/api/v1``, to which ``ingest`` (recording), ``read`` (the tabs as
JSON) and ``openapi`` (the description) attach their routes. ``commands`` and
``settings_section`` are the two ways to make and end tokens.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from plugins.api import commands
from plugins.api import ingest
from plugins.api import routes
from plugins.api import settings_section
from plugins.api import token_views
from plugins.api import tokens


@hookimpl
def register_models():
    """Return the API's tables."""
    return [*tokens.MODELS, *ingest.MODELS]


@hookimpl
def register_migrations():
    """Create the tokens' table, then the ingest's."""
    return [Migration("api.0001_tokens", create_tables(*tokens.MODELS)), *ingest.MIGRATIONS]


@hookimpl
def register_blueprints(app):
    """Return the API (``/api/v1``) and the Settings section's actions (part of Settings)."""
    return [routes.bp, (token_views.bp, {"part_of_tab": "settings"})]


@hookimpl
def startup(app):
    """Leave the API's URLs out of the CSRF check and answer their errors as problems."""
    routes.init_app(app)


@hookimpl
def register_commands(cli):
    """Add ``flask tokens``."""
    commands.register(cli)


@hookimpl
def settings_sections(viewer):
    """Add the API section (tokens) to Settings."""
    return settings_section.sections(viewer)
