"""The embedding cache: vectors by (model, sha256 of the text) in a SQLite file.

Re-indexing unchanged text embeds nothing, and `qa index --rebuild` keeps the cache, so a
rebuild costs only the writing. Each batch is committed as soon as it is embedded, so a killed
run keeps its work.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from .embedding import Embedder

#: Given how many texts will be embedded, returns a callback told each batch's size.
Progress = Callable[[int], Callable[[int], None]]
#: Keys per SQL look-up (SQLite's variable limit is far above; this keeps statements short).
_LOOKUP_CHUNK = 500


def text_key(text: str) -> str:
    """The cache key of a text: its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class StreamingEmbedder(Protocol):
    """An embedder that takes all its texts at once and hands vectors back batch by batch, as
    they are done, in any order (the Ray path): `embed_cached` stores each batch as it
    arrives."""

    def embed_stream(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`(rows, vectors)` pairs: the row numbers into `texts` and their vectors."""
        ...


class EmbeddingCache:
    """Vectors by (model, text sha256) in a SQLite file; safe to keep across rebuilds."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, dim INTEGER, "
            "vector BLOB, PRIMARY KEY (model, key))"
        )
        self._db.commit()

    def get(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
                [model, *chunk],
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
            [(model, k, int(v.shape[0]), v.astype(np.float32).tobytes()) for k, v in items.items()],
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()


def embed_cached(
    embedder: Embedder,
    texts: Sequence[str],
    cache: EmbeddingCache | None,
    *,
    batch_size: int = 256,
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, embedding only those the cache lacks.

    Missing texts are embedded longest-first in batches (similar lengths pad less), and each
    batch is stored as soon as it is embedded. A `StreamingEmbedder` gets them all at once
    and batches them itself.

    Returns:
        The (len(texts), dim) float32 matrix, and how many texts were sent to the model.
    """
    keys = [text_key(t) for t in texts]
    known = cache.get(embedder.name, keys) if cache is not None else {}
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    order = sorted(missing, key=lambda k: len(missing[k]), reverse=True)
    tick = progress(len(order)) if progress is not None and order else None
    for rows, vectors in _batches(embedder, [missing[k] for k in order], batch_size):
        fresh = {order[row]: vector for row, vector in zip(rows.tolist(), vectors, strict=True)}
        if cache is not None:
            cache.put(embedder.name, fresh)
        known.update(fresh)
        if tick is not None:
            tick(len(fresh))
    matrix = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = known[key]
    return matrix, len(missing)


def _batches(embedder: Embedder, texts: list[str],
             batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if isinstance(embedder, StreamingEmbedder):
        if texts:
            yield from embedder.embed_stream(texts)
        return
    for i in range(0, len(texts), batch_size):
        batch = texts[i : i + batch_size]
        yield np.arange(i, i + len(batch)), embedder.embed(batch)
