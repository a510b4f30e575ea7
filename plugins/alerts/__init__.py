"""Alerts and digests: a saved search followed by mail, at once or daily or weekly, and the
owner's and admins' built-in alerts (docs/alerts.md)."""
