"""What one index write changes, and the interface of a store that can take it.

The builder (`qa.index.builder`) decides which documents are new, changed, unchanged or gone,
chunks and embeds only the new and changed ones, and hands the result to a `StoreTarget` as a
`Delta`. The index folder (`qa.index.writer.LocalTarget`) writes it as a new segment, with
tombstones for the passages it replaces; PostgreSQL (`qa.index.postgres.target`) applies it in
one transaction that touches only the rows that changed. Either way a reader sees the state
before the write or after it, never a mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..config import DEFAULT_PRECISION
from ..ingest import Document
from .analysis import TextAnalyzer
from .chunking import Passage
from .store import IndexStore


@dataclass(frozen=True)
class IndexSettings:
    """What a store records about how its passages were built."""

    model: str
    chunking: dict[str, Any]
    bm25: dict[str, float]
    analyzer: TextAnalyzer
    precision: str = DEFAULT_PRECISION


@dataclass(frozen=True)
class Delta:
    """The next state of the index, as a change to the current one.

    `order` lists every document of the next state, in index order. `documents` are the new
    and changed ones, with `passages[i]`, `vectors[i]` and `lexical_texts[i]` for their
    passages, document by document; every other id in `order` is unchanged. `removed` names
    the documents whose current version goes (changed or pruned). With `replace`, nothing of
    the current state is kept: every document in `order` is in `documents`.
    """

    order: Sequence[str]
    documents: Sequence[Document]
    passages: Sequence[Passage]
    vectors: np.ndarray
    lexical_texts: Sequence[str]
    removed: frozenset[str]
    replace: bool

    def __post_init__(self) -> None:
        rows = len(self.passages)
        if not (rows == len(self.vectors) == len(self.lexical_texts)):
            raise ValueError("passages, vectors and lexical texts must have one row per passage")


def lexical_text(title: str, passage_text: str) -> str:
    """What BM25 indexes for a passage: its document's title, then its text."""
    return f"{title}\n{passage_text}"


class StoreTarget(Protocol):
    """A place `qa index` can write to: the index folder, or a PostgreSQL database."""

    def describe(self) -> str:
        """How messages name it: `index/`, or the database URL without its password."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold the store's write lock for a whole run, so two runs never interleave.

        Raises:
            IndexBusyError: another run holds it.
        """
        ...

    def open_existing(self, model: str) -> IndexStore | None:
        """The current state to update, or None when there is none yet.

        Raises:
            IndexMismatchError / IndexCorruptError: it can't be updated (the message says
                to rebuild).
        """
        ...

    def write(self, delta: Delta, how: IndexSettings, old: IndexStore | None) -> int:
        """Apply `delta` to `old` (the store `open_existing` returned) and commit, all or
        nothing. Call it under `lock`.

        Returns:
            The number of passages the store holds after the write.
        """
        ...
