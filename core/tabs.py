"""Stream tabs: what a tab plugin declares, and which tabs a viewer may see.

``visible_tabs`` is the one place that decides tab visibility; the shell, the flyout, every
fragment, export and API route ask it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import g

from core.plugins import call_at_startup
from core.plugins import hooks

TAB_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Tab:
    """A stream tab.

    ``panel(viewer)`` renders the tab's panel HTML as ``viewer`` sees it (filters: the
    request's query string); a list tab gets it from its ``core.listing.feed.Feed``. ``blueprint``
    holds the tab's other routes (rows, exports, detail views); the core mounts it at
    ``/stream/<name>`` behind the same gate as the panel.
    ``configurable`` tabs are granted per role, person and team in Settings. ``feed`` is a list
    tab's ``Feed``: the API and exports read the tab through it.
    """

    name: str
    label: str
    order: int
    panel: Callable[..., str]
    blueprint: Blueprint | None = None
    configurable: bool = True
    feed: object = None  # the tab's core.listing.feed.Feed, when it is a list tab


def collect_tabs(app):
    """Gather every plugin's tabs into ``app.extensions["tabs"]``, ordered, names checked."""
    tabs = {}
    for batch in call_at_startup(app, "register_tabs"):
        for tab in batch:
            if not TAB_NAME.match(tab.name):
                raise RuntimeError(f"tab name {tab.name!r} must match {TAB_NAME.pattern}")
            if tab.name in tabs:
                raise RuntimeError(f"two plugins register a tab named {tab.name!r}")
            tabs[tab.name] = tab
    app.extensions["tabs"] = dict(sorted(tabs.items(), key=lambda item: item[1].order))
    for tab in app.extensions["tabs"].values():
        if tab.blueprint is not None:
            app.register_blueprint(tab.blueprint, url_prefix=f"/stream/{tab.name}")


def all_tabs():
    """Return every registered tab, in tab-bar order."""
    return list(current_app.extensions["tabs"].values())


def get_tab(name):
    """Return the tab named ``name``, or None."""
    return current_app.extensions["tabs"].get(name)


def tab_for_blueprint(blueprint_name):
    """Return the tab whose blueprint is ``blueprint_name``, or None."""
    for tab in all_tabs():
        if tab.blueprint is not None and tab.blueprint.name == blueprint_name:
            return tab
    return None


def visible_tabs(viewer):
    """Return the tabs ``viewer`` may see, in order. Deny by default.

    Only Staff Members ever see a tab. The owner sees every tab. Anyone else sees a tab when
    some plugin's ``tab_visible`` says True and none says False.
    """
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_staff:
        return []
    cache = g.setdefault("visible_tabs", {})
    key = (viewer.id, viewer.session_generation)
    if key not in cache:
        cache[key] = [tab for tab in all_tabs() if _may_see(viewer, tab)]
    return cache[key]


def _may_see(viewer, tab):
    if viewer.is_owner:
        return True
    answers = hooks(current_app).tab_visible(viewer=viewer, tab=tab)
    return True in answers and False not in answers


def row_scope(viewer, tab_name):
    """Return ``"all"`` or ``"related"``: the rows of ``tab_name`` that ``viewer`` may see.

    Narrowest wins, whatever the plugin order: any ``related`` answer (or anything but
    ``all``) makes it ``related``; so does no answer at all. ``all`` for the owner.
    """
    if viewer.is_owner:
        return "all"
    cache = g.setdefault("row_scopes", {})
    key = (viewer.id, viewer.role_id, tab_name)
    if key not in cache:
        answers = hooks(current_app).row_scope(viewer=viewer, tab=get_tab(tab_name))
        answers = [answer for answer in answers if answer is not None]
        cache[key] = "all" if answers and all(a == "all" for a in answers) else "related"
    return cache[key]
