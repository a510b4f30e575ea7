"""The example packages that some tests stand on: the workspace (``examples/workspace``) is the
host platform whose objects, pages and mail those tests act on.

``workspace(module)`` imports one of its modules. When the example is not installed, the test
module calling it is skipped with the reason, or fails under
``ACTIVITY_STREAM_REQUIRE_SERVICES=1`` (a run that must test everything).
"""

import importlib
import importlib.util

import pytest

from core.testing import require_services

WORKSPACE = "activity_stream_workspace"
NOT_INSTALLED = (
    "the workspace example is not installed (.venv/bin/pip install -e ./examples/workspace)"
)


def workspace_installed():
    """Tell whether the workspace example can be imported."""
    return importlib.util.find_spec(WORKSPACE) is not None


def workspace(module=None):
    """Return the workspace package (or its ``module``); skip or fail the caller's test module
    when the example is not installed."""
    if not workspace_installed():
        if require_services():
            pytest.fail(f"{NOT_INSTALLED} (ACTIVITY_STREAM_REQUIRE_SERVICES=1)", pytrace=False)
        pytest.skip(NOT_INSTALLED, allow_module_level=True)
    return importlib.import_module(f"{WORKSPACE}.{module}" if module else WORKSPACE)
