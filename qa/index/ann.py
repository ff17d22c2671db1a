"""A segment's vectors in a FAISS file: searched exactly, or by an HNSW graph when large.

A segment below `AnnPolicy.threshold` passages is searched exactly (`IndexFlatIP`: inner
product, which on unit vectors is the cosine). A larger one gets an HNSW graph
(`IndexHNSWFlat`), whose parameters the manifest records: on the real embeddings of the
evaluation sets (benchmarks/bench_scale.py) it finds ≥ 0.99 of the exact top 10 in a fraction
of a millisecond, where exact search costs milliseconds per 100k passages. Files are
memory-mapped (`IO_FLAG_MMAP_IFC`), so loading reads nothing and processes share the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import files


@dataclass(frozen=True)
class AnnPolicy:
    """When a segment's vectors get an approximate (HNSW) index, and its parameters.

    Example:
        >>> AnnPolicy(threshold=1000).params(999)
        {'kind': 'flat'}
        >>> AnnPolicy(threshold=1000).params(1000)["kind"]
        'hnsw'
    """

    threshold: int = 50_000
    m: int = 32
    ef_construction: int = 80
    ef_search: int = 128

    def params(self, rows: int) -> dict[str, Any]:
        """What the manifest records about a segment of `rows` passages."""
        if rows < self.threshold:
            return {"kind": "flat"}
        return {"kind": "hnsw", "m": self.m, "ef_construction": self.ef_construction,
                "ef_search": self.ef_search}


def write_faiss(path: Path, vectors: np.ndarray, params: dict[str, Any]) -> None:
    """Index `vectors` (row i = segment row i) as `params` says, write the file and fsync."""
    import faiss

    dim = int(vectors.shape[1])
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index: Any
    if params["kind"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, int(params["m"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(params["ef_construction"])
    else:
        index = faiss.IndexFlatIP(dim)
    if len(data):
        index.add(data)
    faiss.write_index(index, str(path))
    files.fsync(path)


def read_faiss(path: Path) -> Any:
    """Map a segment's FAISS file (RuntimeError from FAISS when it is unreadable)."""
    import faiss

    return faiss.read_index(str(path), getattr(faiss, "IO_FLAG_MMAP_IFC", 0))


def all_vectors(index: Any) -> np.ndarray:
    """Every vector of a flat or HNSW index, in row order (for merging)."""
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return np.asarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
