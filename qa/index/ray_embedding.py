"""Embedding on a Ray cluster: Ray Data `map_batches` over a pool of actors holding the model.

`qa index --ray` starts a cluster on this machine (bound to 127.0.0.1, no dashboard, no usage
reporting) or joins a running one (`--ray ADDRESS`). The texts the embedding cache lacks go
out as one dataset; each actor loads the model once, embeds `ray_batch_size` texts at a time on
one CPU, and the vectors come back batch by batch, so the cache stores each batch as it
arrives and a killed run keeps its work, as on the local path. Chunking stays here: it needs
only the tokenizer, and the local model supplies it.

On a cluster of other machines, every node needs qa-docs (and so the model) installed:
`pip install 'qa-docs[ray]'`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

import numpy as np

from ..config import OFFLINE_ENV, Settings
from ..errors import ConfigError
from .embedding import Embedder, load_embedder

INSTALL_HINT = "pip install 'qa-docs[ray]'"
#: `--ray` without an address: start a cluster on this machine.
LOCAL = "local"
#: Set before Ray is imported. Usage statistics off. The second makes Ray take 127.0.0.1 as
#: this node's address (the switch Ray uses on macOS and Windows), so a cluster we start
#: listens on the loopback interface only, never on the machine's network.
_LOCAL_ONLY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class _EmbedActor:
    """One actor of the pool: loads the model once, then embeds batch after batch."""

    def __init__(self, model: str, batch_size: int, precision: str) -> None:
        for name, value in OFFLINE_ENV.items():
            os.environ.setdefault(name, value)
        # One CPU per actor: the pool, not each actor, uses the machine's cores.
        self._embedder = load_embedder(model, batch_size=batch_size, precision=precision,
                                       threads=1)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self._embedder.embed([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": vectors}


class RayEmbedder:
    """An embedder that sends its texts to a Ray cluster; used as a context manager, which
    starts (or joins) the cluster when there is something to embed, and leaves it at the end.

    It is a `StreamingEmbedder` (see `qa.index.cache`), and borrows its name, dimension and
    tokenizer from `local`, the same model loaded here.

    Example:
        >>> on_ray = RayEmbedder(load_embedder(BUNDLED_MODEL), Settings(ray="local"))  # doctest: +SKIP
        >>> with on_ray:  # doctest: +SKIP
        ...     on_ray.embed(["Where will the missile shield go?"]).shape
        (1, 384)
    """

    def __init__(self, local: Embedder, settings: Settings) -> None:
        self.name, self.dim, self.max_tokens = local.name, local.dim, local.max_tokens
        self.precision = local.precision
        self._local = local
        self._settings = settings
        self._joined = False

    def __enter__(self) -> RayEmbedder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _join(self) -> None:
        if self._joined:
            return
        address = self._settings.ray
        if address == LOCAL:
            for name, value in _LOCAL_ONLY_ENV.items():
                os.environ.setdefault(name, value)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            import ray
        except ImportError:
            raise ConfigError(f"embedding on Ray needs Ray Data: {INSTALL_HINT}") from None
        if ray.is_initialized():
            return
        options: dict[str, Any] = {
            "include_dashboard": False, "log_to_driver": False,
            "logging_level": logging.WARNING,
            "runtime_env": {"env_vars": dict(OFFLINE_ENV)},
        }
        try:
            if address == LOCAL:
                ray.init(num_cpus=self._settings.ray_cpus or os.cpu_count() or 1, **options)
            else:
                ray.init(address=address, **options)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError(f"cannot start or reach the Ray cluster {address!r}: "
                              f"{str(err).splitlines()[0] if str(err) else err!r}") from None
        self._joined = True

    def actors(self) -> int:
        """One actor per CPU of the cluster."""
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def embed_stream(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self._join()
        import ray.data

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        rows = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
        vectors = rows.map_batches(
            _EmbedActor, batch_size=self._settings.ray_batch_size, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.actors()), num_cpus=1,
            fn_constructor_kwargs={"model": self.name,
                                   "batch_size": self._settings.embed_batch_size,
                                   "precision": self.precision},
        )
        for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
            yield (np.asarray(batch["row"], dtype=np.int64),
                   np.asarray(batch["vector"], dtype=np.float32))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows, vectors in self.embed_stream(texts) if texts else ():
            out[rows] = vectors
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._local.count_tokens(texts)

    def close(self) -> None:
        """Leave the cluster (shutting it down if we started it)."""
        if self._joined:
            import ray

            ray.shutdown()
            self._joined = False
