"""Writing the index folder atomically, one generation at a time.

`LocalTarget` is the index folder as a `StoreTarget` (see `qa.index.delta`): it turns the
builder's change into a whole new generation, reading unchanged documents back from the old
one. A write puts the catalog, dense and lexical files of generation G beside the current ones,
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

import numpy as np

from ..errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ..ingest import Document
from . import layout
from .catalog import write_catalog
from .chunking import Passage
from .delta import Delta, IndexSettings, lexical_text
from .dense import write_dense
from .layout import FORMAT_VERSION, LOCK_FILE, Manifest
from .lexical import write_lexical
from .store import IndexStore


@dataclass(frozen=True)
class Generation:
    """Everything one generation holds: `passages[i]`, `vectors[i]` and `lexical_texts[i]`
    belong to passage id i."""

    documents: Sequence[Document]
    passages: Sequence[Passage]
    vectors: np.ndarray
    lexical_texts: Sequence[str]


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
        analysis=how.analyzer.settings(), precision=how.precision,
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


class LocalTarget:
    """The index folder as a `StoreTarget`: every write is a whole new generation.

    Example:
        >>> target = LocalTarget(Path("index"))
        >>> target.describe()
        'index/'
    """

    def __init__(self, index_dir: Path, *, repair: bool = False) -> None:
        self.index_dir = index_dir
        self.repair = repair

    def describe(self) -> str:
        return f"{self.index_dir}/"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The folder's write lock; leftovers of a killed run are removed under it."""
        with write_lock(self.index_dir, repair=self.repair):
            remove_leftovers(self.index_dir)
            yield

    def open_existing(self, model: str) -> IndexStore | None:
        try:
            return IndexStore.load(self.index_dir, model=model)
        except IndexMissingError:
            return None
        except IndexMismatchError:
            # An index written by another version of qa: its documents are read back and
            # indexed again in the current format, so nothing is lost. Another model still
            # stops here.
            old = IndexStore.load(self.index_dir, model=model, any_format=True)
            if old.manifest.format_version == FORMAT_VERSION:
                raise
            return old

    def write(self, delta: Delta, how: IndexSettings, old: IndexStore | None) -> int:
        generation = _generation(delta, None if delta.replace else old)
        if old is not None:
            old.close()
        return write_index(self.index_dir, generation, how).counts["passages"]


def _generation(delta: Delta, old: IndexStore | None) -> Generation:
    """The whole next generation: the delta's documents as given, the others read back from
    `old` with their passages and vectors, in `delta.order`."""
    fresh = {d.doc_id: d for d in delta.documents}
    fresh_rows: dict[str, list[int]] = {}
    for row, passage in enumerate(delta.passages):
        fresh_rows.setdefault(passage.doc_id, []).append(row)
    documents: list[Document] = []
    passages: list[Passage] = []
    texts: list[str] = []
    take: list[tuple[int, int]] = []  # (new passage id, row of delta.vectors)
    reuse: list[tuple[int, int]] = []  # (new passage id, old passage id)
    for doc_id in delta.order:
        doc = fresh.get(doc_id)
        if doc is not None:
            documents.append(doc)
            for row in fresh_rows.get(doc_id, []):
                take.append((len(passages), row))
                passages.append(delta.passages[row])
                texts.append(delta.lexical_texts[row])
            continue
        if old is None:
            raise ValueError(f"document {doc_id!r} is neither new nor in the old index")
        doc = old.catalog.document(doc_id)
        documents.append(doc)
        for old_id, passage in old.catalog.passages_of(doc_id):
            reuse.append((len(passages), old_id))
            passages.append(passage)
            texts.append(lexical_text(doc.title, passage.text))
    vectors = np.zeros((len(passages), delta.vectors.shape[1]), dtype=np.float32)
    if take:
        new_ids, rows = zip(*take, strict=True)
        vectors[list(new_ids)] = delta.vectors[list(rows)]
    if reuse and old is not None:
        new_ids, old_ids = zip(*reuse, strict=True)
        vectors[list(new_ids)] = old.dense.vectors(list(old_ids))
    return Generation(documents=documents, passages=passages, vectors=vectors,
                      lexical_texts=texts)


def _versions() -> dict[str, str]:
    import bm25s
    import faiss

    return {"faiss": faiss.__version__, "bm25s": bm25s.__version__}
