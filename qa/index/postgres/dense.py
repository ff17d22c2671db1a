"""The dense part in PostgreSQL: pgvector, HNSW over inner product (see `parts.DenseIndex`).

Vectors are unit length, so the inner product is the cosine, as in the index folder's FAISS
file; unlike FAISS's exact search, HNSW is approximate. A search looks at `ef_search`
neighbours at least — more when it wants more candidates — and with a filter keeps walking
the graph until it has enough rows that pass (pgvector's iterative scan, in strict order).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .database import Database

#: pgvector's upper bound for hnsw.ef_search.
MAX_EF_SEARCH = 1000


class PostgresDense:
    """Passage vectors in the `passages` table."""

    def __init__(self, db: Database, dim: int, *, ef_search: int) -> None:
        self._db = db
        self.dim = dim
        self.ef_search = ef_search

    def count(self) -> int:
        with self._db.connection() as conn:
            row = conn.execute("SELECT passages FROM meta").fetchone()
        return int(row[0]) if row else 0

    def search(self, query: np.ndarray, n: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if n <= 0 or (allowed is not None and not len(allowed)):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        vector = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        where = "retired IS NULL"
        args: list[object] = [vector]
        if allowed is not None:
            where += " AND passage_id = ANY(%s)"
            args.append(allowed.astype(np.int64).tolist())
        ef = min(MAX_EF_SEARCH, max(n, self.ef_search))
        with self._db.connection() as conn, conn.transaction():
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef)])
            rows = conn.execute(
                f"SELECT passage_id, -(embedding <#> %s) FROM passages WHERE {where} "
                "ORDER BY embedding <#> %s LIMIT %s", [*args, vector, n],
            ).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        scores = np.array([r[1] for r in rows], dtype=np.float32)
        # Equal scores in id order, as FAISS returns them (the HNSW walk leaves them in any).
        order = np.lexsort((ids, -scores))
        return ids[order], scores[order]

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        out = np.zeros((len(ids), self.dim), dtype=np.float32)
        if not len(ids):
            return out
        with self._db.connection() as conn:
            # Binary: pgvector's binary form reads straight into numpy, its text form is parsed.
            rows = conn.execute("SELECT passage_id, embedding FROM passages "
                                "WHERE passage_id = ANY(%s)", [[int(i) for i in ids]],
                                binary=True).fetchall()
        by_id = {pid: vector for pid, vector in rows}
        for row, pid in enumerate(ids):
            out[row] = by_id[int(pid)].to_numpy()
        return out
