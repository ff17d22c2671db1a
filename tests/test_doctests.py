"""The examples in the docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["qa", "qa.answer", "qa.api", "qa.chunking", "qa.config", "qa.dates", "qa.embedding",
           "qa.followup", "qa.render", "qa.retrieval", "qa.sentences", "qa.server", "qa.store",
           "qa.writer"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
