"""A plugin failing while the app starts, or in a migration, stops start-up naming it."""

import pytest

from core import hookimpl
from core.migrations import Migration
from core.migrations import MigrationError
from core.plugins import PluginError


class BrokenTabs:
    """Raises while registering its tabs."""

    @hookimpl
    def register_tabs(self):
        raise KeyError("no such template")


class BrokenStartup:
    """Raises in ``startup``."""

    @hookimpl
    def startup(self, app):
        raise RuntimeError("cannot reach the billing server")


class BrokenMigration:
    """Ships a migration that fails halfway."""

    @hookimpl
    def register_migrations(self):
        def apply():
            from core.db import database

            database.execute_sql("CREATE TABLE half_done (id INTEGER)")
            database.execute_sql("INSERT INTO no_such_table VALUES (1)")

        return [Migration("broken.0001_tables", apply)]


@pytest.mark.parametrize(
    ("plugin", "hook"), [(BrokenTabs(), "register_tabs"), (BrokenStartup(), "startup")]
)
def test_a_plugin_raising_at_start_up_is_named_with_its_hook(make_app, plugin, hook):
    with pytest.raises(
        PluginError, match=rf"plugin '{type(plugin).__name__}' failed in its {hook} hook"
    ):
        make_app(plugins=[plugin])


def test_a_failing_migration_is_named_and_leaves_nothing_behind(make_app):
    with pytest.raises(MigrationError, match="migration broken.0001_tables failed"):
        make_app(plugins=[BrokenMigration()])
    from core.db import database

    assert not database.table_exists("half_done")


def test_flask_db_upgrade_reports_the_failing_migration(make_app):
    app = make_app()
    from core.plugins import make_plugin_manager

    app.extensions["plugin_manager"] = make_plugin_manager([BrokenMigration()], {"activity"})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert "migration broken.0001_tables failed" in result.output


def test_a_wrapper_at_start_up_runs_through_pluggy_around_the_others(make_app):
    order = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def register_tabs(self):
            order.append("before")
            tabs = yield
            order.append("after")
            return tabs

    make_app(plugins=[Wrapper()])
    assert order == ["before", "after"]
