"""The Settings tab: who sees which tab."""

from flask import Blueprint
from flask import render_template

from core.people import Role
from core.tabs import all_tabs
from plugins.settings.grants import role_grants

bp = Blueprint("settings", __name__, template_folder="templates")


def settings_panel():
    """Render the Settings panel: every configurable tab against every role."""
    roles = list(Role.select().order_by(Role.position))
    tabs = [tab for tab in all_tabs() if tab.configurable]
    return render_template("settings/panel.html", roles=roles, tabs=tabs, grants=role_grants())
