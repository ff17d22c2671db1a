"""Shared fixtures: a small deterministic fake embedder, tiny corpora, the real model once."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Bag of hashed, lower-cased words: similar words give similar vectors, deterministically.

    It counts every text it is asked to embed, so tests can check the cache.
    """

    def __init__(self, dim: int = 256, max_tokens: int = 64, name: str = "fake-bow") -> None:
        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                slot = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[row, slot] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


@pytest.fixture
def fake() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def registered_fake(fake: FakeEmbedder):  # type: ignore[no-untyped-def]
    """`fake`, registered as the model named "fake-bow": whatever loads that model by name
    (the CLI, the indexer, the server) gets this very object."""
    from qa.index.embedding import register_embedder, unregister_embedder

    register_embedder(fake.name, lambda _batch_size: fake)
    yield fake
    unregister_embedder(fake.name)


@pytest.fixture(scope="session")
def real_model():
    """The real bundled all-MiniLM-L6-v2, loaded once per test session."""
    from qa.config import BUNDLED_MODEL
    from qa.index.embedding import load_embedder

    return load_embedder(BUNDLED_MODEL)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
