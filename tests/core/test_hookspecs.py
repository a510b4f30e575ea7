"""Every hook is documented: a docstring in core/hookspecs.py and a mention in the README."""

import inspect
from pathlib import Path

from core import hookspecs

README = (Path(__file__).parents[2] / "README.md").read_text()
HOOKS = [
    name
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(function, "activity_stream_spec")
]


def test_there_are_hooks():
    assert "register_tabs" in HOOKS and len(HOOKS) >= 10


def test_every_hook_has_a_docstring():
    undocumented = [name for name in HOOKS if not (getattr(hookspecs, name).__doc__ or "").strip()]
    assert undocumented == []


def test_every_hook_is_named_in_the_readme():
    assert [name for name in HOOKS if f"`{name}`" not in README] == []


def test_every_hook_has_a_section_in_the_plugin_guide():
    guide = (Path(__file__).parents[2] / "docs" / "plugins.md").read_text()
    assert [name for name in HOOKS if f"### `{name}(" not in guide] == []
