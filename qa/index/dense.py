"""The dense part of the local index: every segment's FAISS file, searched together.

Each segment is searched exactly or through its HNSW graph (`qa.index.ann`); the results are
merged by score, equal scores in passage id order. Deleted passages and search filters are one bitmap of allowed rows per segment. With a filter
that leaves few rows of an HNSW segment, those rows are compared exactly instead: a graph walk
that may only stop at a few nodes misses neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .segment import Segment

_NONE = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
#: At most this many allowed rows of an HNSW segment are compared exactly, not walked.
EXACT_ROWS = 20_000


class SegmentedDense:
    """The dense index over every live segment (see `parts.DenseIndex`)."""

    def __init__(self, segments: Sequence[Segment], dim: int) -> None:
        self.segments = list(segments)
        self.dim = dim

    def count(self) -> int:
        return sum(s.live_count for s in self.segments)

    def search(self, query: np.ndarray, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        vector = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        found_ids, found_scores = [], []
        for segment in self.segments:
            rows = segment.allowed_rows(allowed)
            ids, scores = _search_segment(segment, vector, n, rows)
            found_ids.append(ids)
            found_scores.append(scores)
        return _top(found_ids, found_scores, n)

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        wanted = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(wanted), self.dim), dtype=np.float32)
        done = np.zeros(len(wanted), dtype=bool)
        for segment in self.segments:
            at, rows = segment.rows_of(wanted)
            for place, row in zip(at.tolist(), rows.tolist(), strict=True):
                out[place] = segment.index.reconstruct(int(row))
            done[at] = True
        if not done.all():
            raise KeyError(int(wanted[~done][0]))
        return out


def use_threads(threads: int) -> None:
    """Let FAISS search with `threads` threads (0: one per core). One search at a time on a
    small machine is faster on one thread: with two, the threads fight each other and the
    model for the cores (`Settings.threads`)."""
    import os

    import faiss

    faiss.omp_set_num_threads(threads if threads > 0 else os.cpu_count() or 1)


def _search_segment(segment: Segment, vector: np.ndarray, n: int,
                    rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The segment's top `n` as (passage ids, scores); `rows`: the rows it may return (None:
    every live row)."""
    import faiss

    available = segment.live_count if rows is None else len(rows)
    k = min(n, available)
    if k <= 0:
        return _NONE
    hnsw = segment.entry.dense["kind"] == "hnsw"
    if hnsw and rows is not None and len(rows) <= EXACT_ROWS:
        stored = segment.index.reconstruct_batch(rows.astype(np.int64))
        scores = stored @ vector[0]
        top = np.argsort(-scores, kind="stable")[:k]
        return segment.ids[rows[top]], scores[top].astype(np.float32)
    params: Any = None
    bitmap = segment.live_bitmap
    if rows is not None:
        mask = np.zeros(segment.rows, dtype=bool)
        mask[rows] = True
        bitmap = np.packbits(mask, bitorder="little")
    if bitmap is not None:
        # FAISS reads the bitmap through a pointer: it must outlive the search (it does,
        # held by this frame or by the segment).
        selector = faiss.IDSelectorBitmap(segment.rows, faiss.swig_ptr(bitmap))
    if hnsw:
        ef = max(int(segment.entry.dense["ef_search"]), k)
        params = faiss.SearchParametersHNSW(efSearch=ef)  # type: ignore[attr-defined]
        if bitmap is not None:
            params.sel = selector
    elif bitmap is not None:
        params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
    scores, found = segment.index.search(vector, k, params=params)
    keep = found[0] >= 0
    return segment.ids[found[0][keep]], scores[0][keep]


def _top(ids: list[np.ndarray], scores: list[np.ndarray],
         n: int) -> tuple[np.ndarray, np.ndarray]:
    """The best `n` of several segments' results: by score, equal scores in id order."""
    if not ids:
        return _NONE
    all_ids = np.concatenate(ids).astype(np.int64)
    all_scores = np.concatenate(scores).astype(np.float32)
    order = np.lexsort((all_ids, -all_scores))[:n]
    return all_ids[order], all_scores[order]
