"""The example's tests run where the package is installed (``pip install ./examples/invoices``);
Activity Stream's pytest plugin (``core.testing``) gives them their fixtures."""

import importlib.util

if importlib.util.find_spec("activity_stream_invoices") is None:
    collect_ignore_glob = ["test_*.py"]
