"""Writing the index folder atomically, one generation at a time.

A write puts the catalog, dense and lexical files of generation G beside the current ones,
fsyncs them, then replaces `manifest.json`, which names the generation and each file's sha256.
That replace is the commit point: a reader (or a run killed at any moment) sees the previous
generation or the new one, never a mix. Files of other generations are leftovers and are
removed by the next run. `qa.index.store` reads what this module writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexBusyError, IndexCorruptError
from ..ingest import Document
from . import layout
from .analysis import TextAnalyzer
from .catalog import write_catalog
from .chunking import Passage
from .dense import write_dense
from .layout import FORMAT_VERSION, LOCK_FILE, Manifest
from .lexical import write_lexical


@dataclass(frozen=True)
class Generation:
    """Everything one generation holds: `passages[i]`, `vectors[i]` and `lexical_texts[i]`
    belong to passage id i."""

    documents: Sequence[Document]
    passages: Sequence[Passage]
    vectors: np.ndarray
    lexical_texts: Sequence[str]


@dataclass(frozen=True)
class IndexSettings:
    """What the manifest records about how a generation was built."""

    model: str
    chunking: dict[str, Any]
    bm25: dict[str, float]
    analyzer: TextAnalyzer


@contextlib.contextmanager
def write_lock(index_dir: Path, *, repair: bool = False) -> Iterator[None]:
    """Hold the index's write lock, so two `qa index` runs never interleave.

    Args:
        index_dir: the index folder (made if missing).
        repair: replace a lock "file" that is not a file (a rebuild does).

    Raises:
        IndexBusyError: another run holds it.
        IndexCorruptError: the index folder or its lock file is something else.
    """
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexCorruptError(f"{index_dir} is not a folder; move it away or choose another "
                                "index folder (--index or QA_INDEX_DIR)")
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = index_dir / LOCK_FILE
    if lock.is_symlink() or (lock.exists() and not lock.is_file()):
        if not repair:
            raise IndexCorruptError(f"{lock} is not a lock file; {layout.REBUILD_HINT}")
        layout.remove(lock)
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(
                f"another `qa index` is writing {index_dir}/; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_index(index_dir: Path, generation: Generation, how: IndexSettings) -> Manifest:
    """Write a new generation holding exactly `generation`, then commit it. Call it under
    `write_lock`."""
    rows = len(generation.passages)
    if not (rows == len(generation.vectors) == len(generation.lexical_texts)):
        raise ValueError("passages, vectors and lexical texts must have one row per passage")
    index_dir.mkdir(parents=True, exist_ok=True)
    number = layout.current_generation(index_dir) + 1
    layout.remove_leftovers(index_dir, keep=number - 1)
    files = layout.generation_files(number)
    write_catalog(index_dir / files["store"], generation.documents, generation.passages)
    dim = write_dense(index_dir / files["vectors"], generation.vectors)
    write_lexical(index_dir / files["bm25"], generation.lexical_texts, how.analyzer,
                  k1=how.bm25["k1"], b=how.bm25["b"])
    manifest = Manifest(
        format_version=FORMAT_VERSION, generation=number, model=how.model, dim=dim,
        chunking=how.chunking, bm25=dict(how.bm25),
        counts={"documents": len(generation.documents), "passages": rows},
        files=files, checksums=layout.checksums(index_dir, files),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), versions=_versions(),
        analysis=how.analyzer.settings(),
    )
    manifest.write(index_dir)
    layout.remove_leftovers(index_dir, keep=number)
    return manifest


def remove_leftovers(index_dir: Path) -> None:
    """Delete files of generations the manifest doesn't name (a run killed between its commit
    and its clean-up leaves the previous generation's). Call it under `write_lock`."""
    number = layout.current_generation(index_dir)
    if number:
        layout.remove_leftovers(index_dir, keep=number)


def _versions() -> dict[str, str]:
    import bm25s
    import faiss

    return {"faiss": faiss.__version__, "bm25s": bm25s.__version__}
