"""The lexical part of the local index: BM25 over title + passage, with bm25s.

Terms come from the index's `TextAnalyzer`, the same at indexing and at query time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import layout
from .analysis import TextAnalyzer

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class Bm25Lexical:
    """A loaded bm25s index (see `parts.LexicalIndex`); an empty index has no bm25s files."""

    def __init__(self, bm25: Any, analyzer: TextAnalyzer) -> None:
        self._bm25 = bm25
        self.analyzer = analyzer

    @classmethod
    def load(cls, path: Path, analyzer: TextAnalyzer, *, empty: bool) -> Bm25Lexical:
        """Read the bm25s folder (nothing to read for an empty index)."""
        import bm25s

        return cls(None if empty else bm25s.BM25.load(str(path), show_progress=False), analyzer)

    def count(self) -> int:
        return int(self._bm25.scores["num_docs"]) if self._bm25 is not None else 0

    def search(self, query: str, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self._bm25 is None:
            return _NONE
        vocab = self._bm25.vocab_dict
        tokens = [t for t in self.analyzer.bm25_tokens([query], return_ids=False)[0]
                  if t in vocab]
        if not tokens:
            return _NONE
        count = self.count()
        mask = None
        if allowed is not None:
            mask = np.zeros(count, dtype=np.float32)
            mask[allowed] = 1.0
        ids, scores = self._bm25.retrieve(
            [tokens], k=min(n, count), show_progress=False, weight_mask=mask, n_threads=1
        )
        keep = scores[0] > 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        n = self.count()
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        indptr = self._bm25.scores["indptr"] if self._bm25 is not None else None
        out: dict[str, float] = {}
        for term in terms:
            tid = vocab.get(term)
            df = 0 if tid is None or indptr is None else int(indptr[tid + 1] - indptr[tid])
            out[term] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out


def write_lexical(path: Path, texts: Sequence[str], analyzer: TextAnalyzer, *,
                  k1: float, b: float) -> None:
    """Index `texts` (row i = passage id i) into a bm25s folder and fsync its files."""
    import bm25s

    retriever = bm25s.BM25(k1=k1, b=b)
    if texts:
        retriever.index(analyzer.bm25_tokens(texts), show_progress=False)
        retriever.save(str(path), show_progress=False)
    else:
        path.mkdir()
    for member in path.iterdir():
        layout.fsync(member)
