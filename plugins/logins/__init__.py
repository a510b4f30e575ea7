"""Logins: every sign-in attempt and session (being built)."""
