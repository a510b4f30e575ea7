"""The example's tests run where the package is installed (``pip install ./examples/workspace``);
Activity Stream's pytest plugin (``core.testing``) gives them their fixtures.

Without the package they are left out, or, under ``ACTIVITY_STREAM_REQUIRE_SERVICES=1`` (a run
that must test everything), the run stops saying what to install.
"""

import importlib.util

from core.testing import require_services

if importlib.util.find_spec("activity_stream_workspace") is None:
    if require_services():
        raise RuntimeError(
            "the workspace example is not installed: pip install -e ./examples/workspace "
            "(ACTIVITY_STREAM_REQUIRE_SERVICES=1)"
        )
    collect_ignore_glob = ["test_*.py"]
