"""Finding passages for a question: dense (FAISS) and BM25 candidates, fused by weighted RRF.

Each retriever ranks its top `candidates` passages; reciprocal rank fusion scores a passage
`w_dense / (rrf_k + dense_rank) + w_bm25 / (rrf_k + bm25_rank)`, so neither retriever's score
scale matters. Every hit keeps both ranks and raw scores, to show why it was found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import Settings
from .embedding import Embedder
from .errors import EmptyQuestionError
from .store import IndexStore, StoredPassage


@dataclass(frozen=True)
class Filters:
    """Restrict a search to documents whose source contains `source`, and/or to a date range
    (ISO dates, inclusive)."""

    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.source or self.date_from or self.date_to)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence for it. Ranks are 1-based; None: not a candidate."""

    passage: StoredPassage
    fused_rank: int
    fused_score: float
    dense_rank: int | None
    dense_score: float | None
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
            "dense": None if self.dense_score is None else round(self.dense_score, 6),
            "dense_rank": self.dense_rank,
            "bm25": None if self.bm25_score is None else round(self.bm25_score, 6),
            "bm25_rank": self.bm25_rank,
        }


@dataclass(frozen=True)
class Ranking:
    """One retriever's candidates, best first."""

    ids: np.ndarray
    scores: np.ndarray


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
        >>> retriever = Retriever(store, embedder, Settings())
        >>> retriever.search("Where will the missile shield go?")[0].passage.title
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
        if not query.strip():
            raise EmptyQuestionError("the question is empty; type a question")
        n = candidates or self.settings.candidates
        allowed = self.store.filter_ids(**vars(filters)) if filters and filters.active else None
        if vector is None:
            vector = self.embedder.embed([query])[0]
        dense = Ranking(*self.store.dense_search(vector, n, allowed))
        bm25 = Ranking(*self.store.bm25_search(query, n, allowed))
        return dense, bm25

    def search(self, query: str, *, k: int | None = None,
               filters: Filters | None = None) -> list[Hit]:
        """The top-k passages for `query`, fused from dense and BM25 candidates."""
        dense, bm25 = self.rankings(query, filters=filters)
        return self.hits(dense, bm25, k=k or self.settings.top_k)

    def hits(self, dense: Ranking, bm25: Ranking, *, k: int) -> list[Hit]:
        """Fuse two rankings and load the top-k passages."""
        fused = rrf([dense, bm25], [self.settings.dense_weight, self.settings.bm25_weight],
                    k=self.settings.rrf_k)[:k]
        dense_at = _positions(dense)
        bm25_at = _positions(bm25)
        passages = self.store.passages([pid for pid, _ in fused])
        out = []
        for rank, ((pid, score), passage) in enumerate(zip(fused, passages, strict=True), 1):
            d, b = dense_at.get(pid), bm25_at.get(pid)
            out.append(Hit(
                passage=passage, fused_rank=rank, fused_score=score,
                dense_rank=None if d is None else d[0], dense_score=None if d is None else d[1],
                bm25_rank=None if b is None else b[0], bm25_score=None if b is None else b[1],
            ))
        return out


def _positions(ranking: Ranking) -> dict[int, tuple[int, float]]:
    return {
        int(pid): (rank, float(score))
        for rank, (pid, score) in enumerate(zip(ranking.ids, ranking.scores, strict=True), 1)
    }
