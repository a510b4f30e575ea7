"""Tests of the foundation: config, auth, access, shell, CLI and queue."""
