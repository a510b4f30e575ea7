"""The API section's actions in Settings: make a token, revoke one (owner and admins)."""

from flask import Blueprint

bp = Blueprint("api_tokens", __name__, url_prefix="/stream/settings/api")
