"""Settings: grants of tabs by role, Staff Member and team; row scope per role; the Settings tab.

``models`` holds the tables, ``grants`` reads and seeds them, ``changes`` changes them (each
change recorded in the event store), ``views`` renders the tab and its inline controls,
``preview`` shows the stream as another viewer would see it.
"""

from core import hookimpl
from core.migrations import Migration
from core.migrations import create_tables
from core.tabs import Tab
from plugins.settings import views
from plugins.settings.changes import revoke_person_grants
from plugins.settings.changes import revoke_team_grants
from plugins.settings.grants import granted_tabs
from plugins.settings.grants import scope_for
from plugins.settings.grants import seed_default_grants
from plugins.settings.grants import tabs_lost_with_team
from plugins.settings.grants import team_tabs
from plugins.settings.models import MODELS

SETTINGS_TAB = "settings"


@hookimpl
def register_models():
    """Return the grant tables."""
    return list(MODELS)


@hookimpl
def register_migrations():
    """Create the grant tables and grant the built-in tabs to the owner and admin roles."""
    return [
        Migration("settings.0001_grants", create_tables(*MODELS)),
        Migration("settings.0002_default_grants", seed_default_grants),
    ]


@hookimpl
def register_tabs():
    """Add the Settings tab, last in the bar."""
    return [Tab(SETTINGS_TAB, "Settings", 1000, views.settings_panel, views.bp, configurable=False)]


@hookimpl
def tab_visible(viewer, tab):
    """Show Settings to admins only; show a configurable tab when it is granted."""
    if tab.name == SETTINGS_TAB:
        return viewer.is_admin
    if tab.configurable and tab.name in granted_tabs(viewer):
        return True
    return None


@hookimpl
def row_scope(viewer, tab):
    """Answer the role's configured scope on ``tab``."""
    return scope_for(viewer, tab.name)


@hookimpl
def team_granted_tabs(team):
    """Name the tabs ``team`` is granted (Manage Teams asks before deleting it)."""
    return team_tabs(team)


@hookimpl
def team_tab_losses(team):
    """Tell which members would lose which tabs with ``team``: those only it grants them."""
    return tabs_lost_with_team(team)


@hookimpl
def person_left_stream(user):
    """Remove the tab grants ``user`` held in person (no longer a Staff Member)."""
    return revoke_person_grants(user)


@hookimpl
def team_deleted(team, actor):
    """Revoke the grants of a team being deleted, each recorded as a Settings change."""
    revoke_team_grants(actor, team)
