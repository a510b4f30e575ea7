"""The plugin host: one pluggy manager per app, built-ins first, then entry points."""

import importlib
import importlib.metadata
import os

import pluggy

from core import hookspecs

PROJECT = "activity_stream"
ENTRY_POINT_GROUP = "activity_stream"

# Built-in plugins, in registration order; each is an ordinary plugin module.
BUILTIN_PLUGINS = (
    "plugins.settings",
    "plugins.people",
    "plugins.activity",
    "plugins.email",
    "plugins.logins",
    "plugins.api",
    "plugins.retention",
    "plugins.integrity",
    "plugins.streams",
    "plugins.alerts",
    "plugins.timeline",
    "plugins.restore",
)


class PluginError(RuntimeError):
    """A plugin could not be loaded or failed while the app starts; the message names it."""


def make_plugin_manager(extra_plugins=(), disabled=()):
    """Return a plugin manager with the built-ins, entry-point plugins and ``extra_plugins``.

    ``disabled`` names plugins to leave out: a built-in by its module's last part
    (``activity``), an installed plugin by its entry point's name (``invoices``).
    """
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in BUILTIN_PLUGINS:
        if name.rsplit(".", 1)[-1] not in disabled:
            manager.register(importlib.import_module(name), name=name)
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in disabled or manager.has_plugin(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as error:
            message = f"plugin {entry_point.name!r} could not be loaded: {error}"
            raise PluginError(message) from error
        manager.register(plugin, name=entry_point.name)
    for plugin in extra_plugins:
        # Named after its class (or module), so an error can say which plugin failed.
        name = getattr(plugin, "__name__", type(plugin).__name__)
        manager.register(plugin, name=name if not manager.has_plugin(name) else None)
    # A misspelt hook name in a plugin is a bug, not an extension: fail at start-up.
    manager.check_pending()
    if os.environ.get("ACTIVITY_STREAM_TRACE_HOOKS"):
        manager.trace.root.setwriter(print)
        manager.enable_tracing()
    return manager


def hooks(app):
    """Return the hook caller of ``app``'s plugin manager."""
    return app.extensions["plugin_manager"].hook


def call_at_startup(app, hook_name, /, **kwargs):
    """Call ``hook_name`` on every plugin, as pluggy would, but name the plugin that fails.

    A plugin raising while the app starts (registering tabs, blueprints, tasks…) stops start-up
    with a ``PluginError`` saying which plugin and which hook. Returns the list of answers.
    """
    caller = getattr(hooks(app), hook_name)
    impls = caller.get_hookimpls()
    if any(impl.hookwrapper or impl.wrapper for impl in impls):
        # A wrapper drives the others' calls: only pluggy can run it (an error names the hook).
        try:
            return [answer for answer in caller(**kwargs) if answer is not None]
        except Exception as error:
            raise PluginError(f"a plugin failed in its {hook_name} hook: {error}") from error
    answers = []
    for impl in reversed(impls):  # pluggy's order: last registered first
        try:
            answer = impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as error:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed in its {hook_name} hook: {error}"
            ) from error
        if answer is not None:
            answers.append(answer)
    return answers
