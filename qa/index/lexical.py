"""The lexical part of the local index: BM25 over title + passage, across segments.

Scores are bm25s' (its default, Lucene's variant): idf `ln(1 + (N - df + 0.5) / (df + 0.5))`,
term weight `tf / (tf + k1 (1 - b + b dl / avgdl))`, each query term counted as often as it
occurs. N, avgdl and each df are taken over the live passages of every segment — deleted
passages left out — when the index is loaded (N, avgdl) or queried (df), so a passage scores
the same whether the index is one segment or twenty (tests/test_segments.py checks both
against bm25s itself). Terms come from the index's `TextAnalyzer`, the same at indexing and
at query time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .analysis import TextAnalyzer

if TYPE_CHECKING:
    from .segment import Segment

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


class SegmentedLexical:
    """BM25 over every live segment (see `parts.LexicalIndex`)."""

    def __init__(self, segments: Sequence[Segment], analyzer: TextAnalyzer, *, k1: float,
                 b: float) -> None:
        self.segments = list(segments)
        self.analyzer = analyzer
        self.k1 = k1
        self.b = b
        self._n = sum(s.live_count for s in self.segments)
        total = 0
        for segment in self.segments:
            lengths = np.asarray(segment.postings.lengths, dtype=np.int64)
            total += int(lengths.sum())
            if segment.dead is not None:
                total -= int(lengths[segment.dead].sum())
        self.avgdl = total / self._n if self._n else 0.0

    def count(self) -> int:
        return self._n

    def search(self, query: str, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        # "" is bm25s' placeholder term of a passage without words, never a query word.
        counts = Counter(t for t in self.analyzer.bm25_tokens([query], return_ids=False)[0]
                         if t)
        weights = {term: times * idf for term, times in counts.items()
                   if (idf := self._idf(term)) is not None}
        if not weights or n <= 0:
            return _NONE
        found_ids, found_scores = [], []
        for segment in self.segments:
            ids, scores = self._search_segment(segment, weights, n, allowed)
            found_ids.append(ids)
            found_scores.append(scores)
        all_ids = np.concatenate(found_ids)
        all_scores = np.concatenate(found_scores)
        order = np.lexsort((all_ids, -all_scores))[:n]
        return all_ids[order], all_scores[order]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        return {term: _lucene_idf(self._n, self._df(term)) for term in terms}

    def unseen(self, terms: Sequence[str]) -> set[str]:
        return {term for term in terms if not self._df(term)}

    def _df(self, term: str) -> int:
        """In how many live passages `term` occurs."""
        df = 0
        for segment in self.segments:
            found = segment.postings.lookup(term)
            if found is None:
                continue
            rows = found[0]
            df += len(rows) if segment.live is None else int(segment.live[rows].sum())
        return df

    def _idf(self, term: str) -> float | None:
        df = self._df(term)
        return _lucene_idf(self._n, df) if df else None

    def _search_segment(self, segment: Segment, weights: dict[str, float], n: int,
                        allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        scores = np.zeros(segment.rows, dtype=np.float64)
        lengths = segment.postings.lengths
        norm = self.k1 * (1 - self.b)
        slope = self.k1 * self.b / self.avgdl
        for term, weight in weights.items():
            found = segment.postings.lookup(term)
            if found is None:
                continue
            rows, tfs = np.asarray(found[0]), np.asarray(found[1], dtype=np.float64)
            scores[rows] += weight * tfs / (tfs + norm + slope * lengths[rows])
        allowed_rows = segment.allowed_rows(allowed)
        if allowed_rows is None:
            candidates = np.flatnonzero(scores > 0)
            if segment.live is not None:
                candidates = candidates[segment.live[candidates]]
        else:
            candidates = allowed_rows[scores[allowed_rows] > 0]
        if len(candidates) > n:
            # Every row tied with the n-th best stays, so that ties break by id across
            # segments exactly as within one.
            nth = np.partition(scores[candidates], len(candidates) - n)[len(candidates) - n]
            candidates = candidates[scores[candidates] >= nth]
        return (np.asarray(segment.ids)[candidates].astype(np.int64),
                scores[candidates].astype(np.float32))


def _lucene_idf(n: int, df: int) -> float:
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
