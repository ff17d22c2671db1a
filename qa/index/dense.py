"""The dense part of the local index: one normalised vector per passage in a FAISS file.

Search is exact inner product (`IndexFlatIP`), which on unit vectors is cosine similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import layout


class FaissDense:
    """A loaded FAISS index (see `parts.DenseIndex`)."""

    def __init__(self, index: Any, dim: int) -> None:
        self._index = index
        self.dim = dim

    @classmethod
    def load(cls, path: Path, dim: int) -> FaissDense:
        """Read the file (RuntimeError from FAISS when it is unreadable)."""
        import faiss

        return cls(faiss.read_index(str(path)), dim)

    def count(self) -> int:
        return int(self._index.ntotal)

    def stored_dim(self) -> int:
        """The dimension of the vectors in the file (to check against the manifest)."""
        return int(self._index.d)

    def search(self, query: np.ndarray, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        n = min(n, self.count() if allowed is None else len(allowed))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed is not None:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
        scores, ids = self._index.search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), n, params=params
        )
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        for row, pid in enumerate(ids):
            out[row] = self._index.reconstruct(int(pid))
        return out


def use_threads(threads: int) -> None:
    """Let FAISS search with `threads` threads (0: one per core). One search at a time on a
    small machine is faster on one thread: with two, the threads fight each other and the
    model for the cores (`Settings.threads`)."""
    import os

    import faiss

    faiss.omp_set_num_threads(threads if threads > 0 else os.cpu_count() or 1)


def write_dense(path: Path, vectors: np.ndarray) -> int:
    """Write the vectors (row i = passage id i) and fsync; returns their dimension."""
    import faiss

    dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    flat = faiss.IndexFlatIP(dim)
    if len(vectors):
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(flat, str(path))
    layout.fsync(path)
    return dim
