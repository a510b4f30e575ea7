"""Foundation tests run on the core and the Settings plugin only, whatever other tabs ship."""

import pytest

from core.plugins import BUILTIN_PLUGINS

OTHER_BUILTINS = ",".join(
    name.rsplit(".", 1)[-1] for name in BUILTIN_PLUGINS if name != "plugins.settings"
)


@pytest.fixture
def make_app(make_app):
    """Return the shared app factory with every built-in plugin but Settings left out."""

    def make(plugins=(), **settings):
        settings.setdefault("PLUGINS_DISABLED", OTHER_BUILTINS)
        return make_app(plugins=plugins, **settings)

    return make
