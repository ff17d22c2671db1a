"""The examples in the docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


def _modules() -> list[str]:
    """Every module of the package."""
    import pkgutil

    import qa

    return ["qa"] + [m.name for m in pkgutil.walk_packages(qa.__path__, "qa.")]


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
