"""The plugin host: one pluggy manager per app, built-ins first, then entry points."""

import importlib
import os

import pluggy

from core import hookspecs

PROJECT = "activity_stream"
ENTRY_POINT_GROUP = "activity_stream"

# Built-in plugins, in registration order; each is an ordinary plugin module.
BUILTIN_PLUGINS = (
    "plugins.settings",
    "plugins.activity",
    "plugins.email",
    "plugins.logins",
    "plugins.workspace",
)


def make_plugin_manager(extra_plugins=(), disabled=()):
    """Return a plugin manager with the built-ins, entry-point plugins and ``extra_plugins``."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        if name.rsplit(".", 1)[-1] not in disabled:
            manager.register(importlib.import_module(name), name=name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        manager.register(plugin)
    # A misspelt hook name in a plugin is a bug, not an extension: fail at start-up.
    manager.check_pending()
    if os.environ.get("ACTIVITY_STREAM_TRACE_HOOKS"):
        manager.trace.root.setwriter(print)
        manager.enable_tracing()
    return manager


def hooks(app):
    """Return the hook caller of ``app``'s plugin manager."""
    return app.extensions["plugin_manager"].hook
