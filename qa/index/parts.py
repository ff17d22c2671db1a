"""The three parts behind the store, as interfaces a second engine can implement.

- a `Catalog` holds documents and passages and answers look-ups and filters;
- a `DenseIndex` holds one vector per passage and finds the nearest;
- a `LexicalIndex` scores passages by BM25 and knows each term's rarity.

All three share one passage id space: passage id *i* is the same passage in each. The local
store implements them with SQLite (`catalog`), FAISS (`dense`) and bm25s (`lexical`); retrieval
and answering see only these interfaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from ..errors import InvalidFilterError
from ..ingest import Document
from .chunking import Passage


@dataclass(frozen=True)
class StoredPassage:
    """A passage as stored, with its id and its document's metadata for display."""

    passage_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    page: int | None
    text: str
    title: str
    date: str | None
    source: str


@dataclass(frozen=True)
class DocumentRow:
    """One indexed document's metadata, without its text."""

    doc_id: str
    source: str
    title: str
    date: str | None
    sha256: str


@dataclass(frozen=True)
class Filters:
    """Which passages a search may return: documents whose source contains `source` (or whose
    id equals it), dated within `date_from`..`date_to` (ISO dates, inclusive; an undated
    document never matches a date bound).

    Raises:
        InvalidFilterError: a date is not a real YYYY-MM-DD date.
    """

    # Read by pydantic when the API takes Filters as part of a request: no unknown keys.
    __pydantic_config__ = {"extra": "forbid"}  # noqa: RUF012

    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        if self.source is not None and not _is_text(self.source):
            raise InvalidFilterError("source holds a character that is not text (a lone "
                                     "surrogate); send valid Unicode")
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and not _is_iso_date(value):
                raise InvalidFilterError(f"{name} {value!r} is not a date; use YYYY-MM-DD")

    @property
    def active(self) -> bool:
        return bool(self.source or self.date_from or self.date_to)


def _is_text(value: object) -> bool:
    """A string UTF-8 can encode (no lone surrogates), as SQLite needs."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_iso_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


class Catalog(Protocol):
    """Documents and passages: look-ups by id and filtering."""

    def document_count(self) -> int: ...

    def passage_count(self) -> int: ...

    def passages(self, ids: Sequence[int]) -> list[StoredPassage]:
        """Passages by id, in the order given."""
        ...

    def document(self, doc_id: str) -> Document:
        """The whole document, as it was indexed. Raises KeyError for an unknown id."""
        ...

    def documents(self) -> list[DocumentRow]:
        """Every document's metadata, in index order."""
        ...

    def passages_of(self, doc_id: str) -> list[tuple[int, Passage]]:
        """`(passage id, passage)` of one document, in document order."""
        ...

    def passage_doc_ids(self) -> list[str]:
        """The document id of every passage, indexed by passage id."""
        ...

    def filter_ids(self, where: Filters) -> np.ndarray:
        """Sorted ids of the passages `where` allows."""
        ...

    def close(self) -> None: ...


class DenseIndex(Protocol):
    """One unit vector per passage; search by inner product."""

    dim: int

    def count(self) -> int: ...

    def search(self, query: np.ndarray, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top-n `(ids, scores)` by inner product with `query`, optionally among
        `allowed` ids."""
        ...

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these passages."""
        ...


class LexicalIndex(Protocol):
    """BM25 over the passages (title and text)."""

    def count(self) -> int: ...

    def search(self, query: str, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The top-n `(ids, scores)` by BM25, only those scoring above zero."""
        ...

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency over passages of each (already analysed) term."""
        ...

    def unseen(self, terms: Sequence[str]) -> set[str]:
        """Those of the (already analysed) terms that no live passage holds."""
        ...
