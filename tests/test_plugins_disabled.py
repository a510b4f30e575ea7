"""Each built-in plugin, and the workspace example (an installed plugin), can be left out: the
rest of the app still works, and still records.

The event store is core's, so the platform and the Settings tab record whatever tab is off.
"""

import pytest

from core.events import ActivityEvent
from core.plugins import BUILTIN_PLUGINS
from core.tabs import all_tabs
from tests.conftest import csrf_token_of
from tests.conftest import sign_in
from tests.examples import workspace
from tests.examples import workspace_installed

BUILTINS = [name.rsplit(".", 1)[-1] for name in BUILTIN_PLUGINS]
# An installed plugin is left out by its entry point's name.
PLUGINS = [*BUILTINS, "workspace"]


def tab_names(app):
    """Return the names of ``app``'s tabs, in order."""
    with app.app_context():
        return [tab.name for tab in all_tabs()]


def verbs(app):
    """Return the verbs recorded so far, oldest first."""
    with app.app_context():
        return [event.verb for event in ActivityEvent.select().order_by(ActivityEvent.id)]


@pytest.mark.parametrize("disabled", PLUGINS)
def test_the_app_works_and_records_without_one_plugin(app, make_app, people, disabled):
    if disabled == "workspace":
        workspace()  # leaving out the example needs it installed
    every_tab = tab_names(app)
    app = make_app(PLUGINS_DISABLED=disabled)
    client = app.test_client()
    assert sign_in(client, "owner@example.com").status_code == 302
    names = tab_names(app)
    # Only the disabled plugin's own tab (if it has one) is gone.
    assert [name for name in every_tab if name != disabled] == names
    for name in names:
        assert client.get(f"/stream/{name}").status_code == 200, name
    if disabled in every_tab:
        assert client.get(f"/stream/{disabled}").status_code == 404
    token = csrf_token_of(client)

    if disabled != "workspace" and workspace_installed():
        created = client.post(
            "/workspace/tasks/new", data={"title": "Ship it", "status": "open", "csrf_token": token}
        )
        assert created.status_code == 302, created.text
        assert "task.created" in verbs(app)
    elif disabled == "workspace":
        assert client.get("/workspace/tasks").status_code == 404

    grantable = [name for name in names if name != "settings"]
    if disabled != "settings" and grantable:
        changed = client.post(
            "/stream/settings/grant",
            data={
                "tab": grantable[0],
                "kind": "user",
                "id": people["pm@example.com"].id,
                "granted": "1",
                "csrf_token": token,
            },
        )
        assert changed.status_code == 302, changed.text
        assert "settings.updated" in verbs(app)
