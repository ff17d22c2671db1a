"""The embedding cache: vectors by (model, sha256 of the text) in a SQLite file.

The model column holds `embedding.cache_key`: the model's name, with its precision when that
is not fp32, so vectors of two precisions are never mixed.

Re-indexing unchanged text embeds nothing, and `qa index --rebuild` keeps the cache, so a
rebuild costs only the writing. Each batch is committed as soon as it is embedded, so a killed
run keeps its work.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import IndexCorruptError
from .embedding import Embedder, cache_key
from .layout import remove

#: Given how many texts will be embedded, returns a callback told each batch's size.
Progress = Callable[[int], Callable[[int], None]]
#: Keys per SQL look-up (SQLite's variable limit is far above; this keeps statements short).
_LOOKUP_CHUNK = 500
#: Rows read at a time when saving what a damaged cache still holds.
_SALVAGE_ROWS = 256
_SCHEMA = ("CREATE TABLE IF NOT EXISTS embeddings (model TEXT, key TEXT, dim INTEGER, "
           "vector BLOB, PRIMARY KEY (model, key))")


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
    """Vectors by (model, text sha256) in a SQLite file; safe to keep across rebuilds.

    A damaged cache is refused (`IndexCorruptError` naming the file and `qa index --rebuild`);
    opened with `repair`, as a rebuild does, it is replaced by a new file holding every vector
    that could still be read, and the damaged one is kept beside it as `<name>.damaged`.
    """

    def __init__(self, path: Path, *, repair: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open()
        except IndexCorruptError:
            if not repair:
                raise
            self._db = self._salvage()
            return
        if repair:
            try:
                result = self._run("PRAGMA quick_check").fetchall()
                damaged = [tuple(r) for r in result] != [("ok",)]
            except IndexCorruptError:
                damaged = True
            if damaged:
                self._db.close()
                self._db = self._salvage()

    def _open(self) -> sqlite3.Connection:
        if self.path.exists() and not self.path.is_file():
            raise self._damaged("not a file")
        try:
            db = sqlite3.connect(self.path)
        except sqlite3.DatabaseError as err:
            raise self._damaged(str(err)) from None
        try:
            db.execute(_SCHEMA)
            db.execute("SELECT model, key, dim, vector FROM embeddings LIMIT 1").fetchall()
            db.commit()
        except sqlite3.DatabaseError as err:
            db.close()
            raise self._damaged(str(err)) from None
        return db

    def _salvage(self) -> sqlite3.Connection:
        """A new cache file with the rows still readable from the damaged one."""
        aside = self.path.with_name(self.path.name + ".damaged")
        remove(aside)
        self.path.rename(aside)
        fresh = sqlite3.connect(self.path)
        fresh.execute(_SCHEMA)
        if aside.is_file():
            fresh.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
                              _readable_rows(aside))
        fresh.commit()
        return fresh

    def _damaged(self, why: str) -> IndexCorruptError:
        return IndexCorruptError(f"the embedding cache {self.path} is damaged ({why}); run "
                                 "`qa index --rebuild` to rebuild it, keeping what it can")

    def _run(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.DatabaseError as err:
            raise self._damaged(str(err)) from None

    def get(self, model: str, keys: Sequence[str], dim: int | None = None
            ) -> dict[str, np.ndarray]:
        """The cached vectors of these keys (rows of another dimension than `dim` are
        treated as absent)."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._run(
                f"SELECT key, vector FROM embeddings WHERE model = ? AND key IN ({marks})",
                [model, *chunk],
            ).fetchall()
            for key, blob in rows:
                if isinstance(blob, bytes) and len(blob) % 4 == 0 and (
                        dim is None or len(blob) == 4 * dim):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?)",
                [(model, k, int(v.shape[0]), v.astype(np.float32).tobytes())
                 for k, v in items.items()],
            )
            self._db.commit()
        except sqlite3.DatabaseError as err:
            raise self._damaged(str(err)) from None

    def close(self) -> None:
        self._db.close()


def _readable_rows(path: Path) -> Iterator[tuple[object, ...]]:
    """The rows of a damaged cache that SQLite can still read, a range of rows at a time."""
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return
    try:
        try:
            top = int(db.execute("SELECT max(rowid) FROM embeddings").fetchone()[0] or 0)
        except sqlite3.DatabaseError:
            return
        for low in range(0, top + 1, _SALVAGE_ROWS):
            try:
                yield from db.execute(
                    "SELECT model, key, dim, vector FROM embeddings WHERE rowid BETWEEN ? AND ?",
                    [low, low + _SALVAGE_ROWS - 1]).fetchall()
            except sqlite3.DatabaseError:
                continue  # a damaged page: the rows on it are lost, the others kept
    finally:
        db.close()


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
    model = cache_key(embedder)
    known = cache.get(model, keys, embedder.dim) if cache is not None else {}
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    order = sorted(missing, key=lambda k: len(missing[k]), reverse=True)
    tick = progress(len(order)) if progress is not None and order else None
    for rows, vectors in _batches(embedder, [missing[k] for k in order], batch_size):
        fresh = {order[row]: vector for row, vector in zip(rows.tolist(), vectors, strict=True)}
        if cache is not None:
            cache.put(model, fresh)
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
