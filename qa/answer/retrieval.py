"""Finding passages for a question: dense (FAISS) and BM25 candidates, fused by weighted RRF.

Each retriever ranks its top `candidates` passages; reciprocal rank fusion scores a passage
`w_dense / (rrf_k + dense_rank) + w_bm25 / (rrf_k + bm25_rank)`, so neither retriever's score
scale matters. The weights adapt to the query: a retriever whose best candidate stands out
from its second gets more say (`confidence_weight`). Every hit keeps both ranks and raw
scores, to show why it was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..config import Settings
from ..index.embedding import Embedder
from ..index.parts import Filters, StoredPassage
from ..index.store import IndexStore
from .dates import DateRange
from .question import require_question

__all__ = ["Filters", "Hit", "Ranking", "Retriever", "confidence_weight", "rrf"]


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence for it. Ranks are 1-based (None: not among that
    retriever's candidates); `dense_score` is always the passage's cosine with the query."""

    passage: StoredPassage
    fused_rank: int
    fused_score: float
    dense_rank: int | None
    dense_score: float
    bm25_rank: int | None
    bm25_score: float | None

    @property
    def passage_id(self) -> int:
        return self.passage.passage_id

    @property
    def doc_id(self) -> str:
        return self.passage.doc_id

    def scores(self) -> dict[str, float | int | None]:
        return {
            "fused": round(self.fused_score, 6), "fused_rank": self.fused_rank,
            "dense": round(self.dense_score, 6),
            "dense_rank": self.dense_rank,
            "bm25": None if self.bm25_score is None else round(self.bm25_score, 6),
            "bm25_rank": self.bm25_rank,
        }


@dataclass(frozen=True)
class Ranking:
    """One retriever's candidates, best first."""

    ids: np.ndarray
    scores: np.ndarray


def confidence_weight(ranking: Ranking, base: float, confidence: float) -> float:
    """`base * (1 + confidence * gap)`, where gap = (s1 - s2) / s1 of the ranking's two best
    scores (0 when there are fewer than two, or the best is not positive).

    Example:
        >>> confidence_weight(Ranking(np.array([3, 1]), np.array([2.0, 1.0])), 1.0, 2.0)
        2.0
    """
    scores = ranking.scores
    if len(scores) < 2 or scores[0] <= 0:
        return base
    return base * (1.0 + confidence * float((scores[0] - scores[1]) / scores[0]))


def rrf(
    rankings: Sequence[Ranking], weights: Sequence[float], *, k: int = 60
) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of several rankings, best first.

    Example:
        >>> a = Ranking(np.array([1, 2]), np.array([0.9, 0.5]))
        >>> b = Ranking(np.array([2, 3]), np.array([7.0, 1.0]))
        >>> [pid for pid, _ in rrf([a, b], [1.0, 1.0])]
        [2, 1, 3]
    """
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, pid in enumerate(ranking.ids.tolist(), start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    # Ties break towards the lower id, so results are deterministic.
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


class Retriever:
    """Hybrid search over a loaded index with a query embedder.

    Example:
        >>> retriever = Retriever(store, embedder, Settings())  # doctest: +SKIP
        >>> retriever.search("Where will the missile shield go?")[0].passage.title  # doctest: +SKIP
    """

    def __init__(self, store: IndexStore, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def rankings(
        self,
        query: str,
        *,
        filters: Filters | None = None,
        candidates: int | None = None,
        vector: np.ndarray | None = None,
    ) -> tuple[Ranking, Ranking]:
        """The dense and the BM25 candidate rankings for `query` (`vector`: its embedding,
        when the caller embedded many queries at once)."""
        require_question(query)
        n = candidates or self.settings.candidates
        allowed = self.store.catalog.filter_ids(filters) if filters and filters.active else None
        if vector is None:
            vector = self.embedder.embed([query])[0]
        dense = Ranking(*self.store.dense.search(vector, n, allowed))
        bm25 = Ranking(*self.store.lexical.search(query, n, allowed))
        return dense, bm25

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: Filters | None = None,
        boost: DateRange | None = None,
        context: str = "",
        focus: Sequence[str] = (),
    ) -> list[Hit]:
        """The top-k passages for `query`, fused from dense and BM25 candidates.

        With `boost`, the same searches restricted to that date range join the fusion (weight
        `date_weight`), so passages of the time asked about rise without hiding the others.
        With `context` (a conversation's topic words), the query with them added is searched
        too, joining with weight `context_weight`; hits keep their cosine with `query` alone.
        With `focus` (the ids of the documents a conversation has been reading), the same
        searches restricted to those documents join with weight `focus_weight`: in a large
        collection, "Who won the election?" asked in a chat about one story is about that
        story's election. Near-duplicates of a better hit (the same story twice, overlapping
        chunks) are dropped.
        """
        require_question(query)
        weight = self.settings.context_weight
        texts = [query, f"{query} {context}"] if context and weight > 0 else [query]
        vectors = self.embedder.embed(texts)
        vector = vectors[0]
        rankings, weights = self.all_rankings(query, vector, filters=filters, boost=boost)
        if len(texts) > 1:
            c_dense, c_bm25 = self.rankings(texts[1], filters=filters, vector=vectors[1])
            rankings += [c_dense, c_bm25]
            weights += self._weights(c_dense, c_bm25, weight)
        if focus and self.settings.focus_weight > 0:
            allowed = self._passages_of(focus, filters)
            # (When the documents are the whole collection, the searches would only repeat.)
            if 0 < len(allowed) < self.store.count:
                n = self.settings.candidates
                f_dense = Ranking(*self.store.dense.search(vector, n, allowed))
                f_bm25 = Ranking(*self.store.lexical.search(query, n, allowed))
                focused = self.hits([*rankings, f_dense, f_bm25],
                                    [*weights, *self._weights(f_dense, f_bm25,
                                                              self.settings.focus_weight)],
                                    vector, k=k or self.settings.top_k)
                # The passages the focus displaced still count as found (after the others):
                # how close the collection comes to the question is no less with a focus.
                seen = {h.passage_id for h in focused}
                unfocused = self.hits(rankings, weights, vector, k=k or self.settings.top_k)
                return focused + [replace(h, fused_rank=len(focused) + i)
                                  for i, h in enumerate((h for h in unfocused
                                                         if h.passage_id not in seen), 1)]
        return self.hits(rankings, weights, vector, k=k or self.settings.top_k)

    def _passages_of(self, documents: Sequence[str], filters: Filters | None) -> np.ndarray:
        """The ids of the passages of `documents` that `filters` allow, ascending."""
        catalog = self.store.catalog
        ids = np.array(sorted(pid for doc in dict.fromkeys(documents)
                              for pid, _ in catalog.passages_of(doc)), dtype=np.int64)
        if filters is not None and filters.active:
            ids = np.intersect1d(ids, catalog.filter_ids(filters))
        return ids

    def all_rankings(
        self,
        query: str,
        vector: np.ndarray,
        *,
        filters: Filters | None = None,
        boost: DateRange | None = None,
        candidates: int | None = None,
    ) -> tuple[list[Ranking], list[float]]:
        """The rankings to fuse and their weights: dense and BM25, then, with `boost`, dense
        and BM25 restricted to its date range."""
        n = candidates or self.settings.candidates
        dense, bm25 = self.rankings(query, filters=filters, vector=vector, candidates=n)
        rankings, weights = [dense, bm25], self._weights(dense, bm25, 1.0)
        if boost is not None:
            base = filters or Filters()
            dated = Filters(
                source=base.source,
                date_from=max(d for d in (base.date_from, boost.start) if d),
                date_to=min(d for d in (base.date_to, boost.end) if d),
            )
            d_dense, d_bm25 = self.rankings(query, filters=dated, vector=vector, candidates=n)
            rankings += [d_dense, d_bm25]
            weights += self._weights(d_dense, d_bm25, self.settings.date_weight)
        return rankings, weights

    def _weights(self, dense: Ranking, bm25: Ranking, scale: float) -> list[float]:
        s = self.settings
        return [scale * confidence_weight(dense, s.dense_weight, s.dense_confidence),
                scale * confidence_weight(bm25, s.bm25_weight, s.bm25_confidence)]

    def hits(self, rankings: Sequence[Ranking], weights: Sequence[float], vector: np.ndarray,
             *, k: int) -> list[Hit]:
        """Fuse rankings (dense first, BM25 second, then any others) into the top-k hits."""
        fused = rrf(rankings, weights, k=self.settings.rrf_k)
        dense_at, bm25_at = _positions(rankings[0]), _positions(rankings[1])
        out: list[Hit] = []
        kept: list[np.ndarray] = []
        step = max(k * 2, 10)
        for start in range(0, len(fused), step):
            batch = fused[start : start + step]
            ids = [pid for pid, _ in batch]
            for (pid, score), passage, vec in zip(batch, self.store.catalog.passages(ids),
                                                  self.store.dense.vectors(ids), strict=True):
                if self._duplicate(passage, vec, out, kept):
                    continue
                d, b = dense_at.get(pid), bm25_at.get(pid)
                out.append(Hit(
                    passage=passage, fused_rank=len(out) + 1, fused_score=score,
                    dense_rank=None if d is None else d[0], dense_score=float(vec @ vector),
                    bm25_rank=None if b is None else b[0], bm25_score=None if b is None else b[1],
                ))
                kept.append(vec)
                if len(out) >= k:
                    return out
        return out

    def _duplicate(self, passage: StoredPassage, vec: np.ndarray, out: Sequence[Hit],
                   kept: Sequence[np.ndarray]) -> bool:
        """Whether a candidate repeats a better hit: nearly the same vector, or half of the
        same span of one document."""
        return any(float(vec @ other) >= self.settings.duplicate_cosine for other in kept) \
            or any(_overlaps(passage, h.passage) for h in out)


def _overlaps(a: StoredPassage, b: StoredPassage) -> bool:
    """Whether two passages of one document share at least half of the shorter one (the
    one-sentence overlap of neighbouring chunks doesn't count)."""
    if a.doc_id != b.doc_id:
        return False
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared * 2 >= min(a.end - a.start, b.end - b.start)


def _positions(ranking: Ranking) -> dict[int, tuple[int, float]]:
    return {
        int(pid): (rank, float(score))
        for rank, (pid, score) in enumerate(zip(ranking.ids, ranking.scores, strict=True), 1)
    }
