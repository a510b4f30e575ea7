"""Foundation tests run on the core and the Settings plugin only, whatever other tabs ship or
are installed."""

import importlib.metadata

import pytest

from core.plugins import BUILTIN_PLUGINS
from core.plugins import ENTRY_POINT_GROUP

OTHER_BUILTINS = ",".join(
    [name.rsplit(".", 1)[-1] for name in BUILTIN_PLUGINS if name != "plugins.settings"]
    + [entry_point.name for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
)


@pytest.fixture
def make_app(make_app):
    """Return the shared app factory with every built-in plugin but Settings left out."""

    def make(plugins=(), **settings):
        settings.setdefault("PLUGINS_DISABLED", OTHER_BUILTINS)
        return make_app(plugins=plugins, **settings)

    return make
