"""Activity Stream core: app factory, database, people, auth, plugin host and shell.

A plugin implements hooks from ``core.hookspecs`` with the ``hookimpl`` marker below.
"""

import pluggy

hookimpl = pluggy.HookimplMarker("activity_stream")
