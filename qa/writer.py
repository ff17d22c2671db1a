"""Writing the index folder atomically, one generation at a time.

A write puts `store-G.sqlite`, `vectors-G.faiss` and `bm25-G/` beside the current files,
fsyncs them, then replaces `manifest.json`, which names the generation and each file's sha256.
That replace is the commit point: a reader (or a run killed at any moment) sees the previous
generation or the new one, never a mix. Files of other generations are leftovers and are
removed by the next run. `qa.store` reads what this module writes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import Passage
from .errors import IndexCorruptError, IndexMissingError
from .ingest import Document
from .store import FORMAT_VERSION, LOCK_FILE, MANIFEST, Manifest, bm25_tokenize, sha256_file

_SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY, source TEXT NOT NULL, title TEXT NOT NULL, date TEXT,
    author TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, page_starts TEXT NOT NULL
);
CREATE TABLE passages (
    passage_id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, page INTEGER
);
CREATE INDEX passages_doc ON passages(doc_id);
CREATE INDEX documents_date ON documents(date);
"""



def _checksums(index_dir: Path, files: dict[str, str]) -> dict[str, str]:
    sums: dict[str, str] = {}
    for name in files.values():
        path = index_dir / name
        members = sorted(p for p in path.iterdir()) if path.is_dir() else [path]
        for member in members:
            sums[str(member.relative_to(index_dir))] = sha256_file(member)
    return sums


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's write lock, so two `qa index` runs never interleave."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexCorruptError(
                f"another `qa index` is writing {index_dir}/; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_index(
    index_dir: Path,
    *,
    documents: Sequence[Document],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    bm25_texts: Sequence[str],
    model: str,
    chunking: dict[str, Any],
    bm25_params: dict[str, float],
) -> Manifest:
    """Write a new generation holding exactly these documents and passages, then commit it.

    `passages[i]`, `vectors[i]` and `bm25_texts[i]` belong to passage id i. Call it under
    `write_lock`.
    """
    import bm25s
    import faiss

    if not (len(passages) == len(vectors) == len(bm25_texts)):
        raise ValueError("passages, vectors and bm25_texts must have one row per passage")
    index_dir.mkdir(parents=True, exist_ok=True)
    old_generation = _current_generation(index_dir)
    generation = old_generation + 1
    _remove_leftovers(index_dir, keep=old_generation)
    files = {
        "store": f"store-{generation:06d}.sqlite",
        "vectors": f"vectors-{generation:06d}.faiss",
        "bm25": f"bm25-{generation:06d}",
    }
    _write_sqlite(index_dir / files["store"], documents, passages)

    dim = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    flat = faiss.IndexFlatIP(dim)
    if len(vectors):
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(flat, str(index_dir / files["vectors"]))
    _fsync(index_dir / files["vectors"])

    bm25_dir = index_dir / files["bm25"]
    retriever = bm25s.BM25(k1=bm25_params["k1"], b=bm25_params["b"])
    if bm25_texts:
        retriever.index(bm25_tokenize(bm25_texts), show_progress=False)
        retriever.save(str(bm25_dir), show_progress=False)
    else:
        bm25_dir.mkdir()
    for member in bm25_dir.iterdir():
        _fsync(member)

    manifest = Manifest(
        format_version=FORMAT_VERSION,
        generation=generation,
        model=model,
        dim=dim,
        chunking=chunking,
        bm25=dict(bm25_params),
        counts={"documents": len(documents), "passages": len(passages)},
        files=files,
        checksums=_checksums(index_dir, files),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        versions={"faiss": faiss.__version__, "bm25s": bm25s.__version__},
    )
    tmp = index_dir / f"{MANIFEST}.tmp"
    tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, index_dir / MANIFEST)  # the commit point
    _fsync(index_dir)
    _remove_leftovers(index_dir, keep=generation)
    return manifest


def remove_leftovers(index_dir: Path) -> None:
    """Delete files of generations the manifest doesn't name (a run killed between its commit
    and its clean-up leaves the previous generation's). Call it under `write_lock`."""
    generation = _current_generation(index_dir)
    if generation:
        _remove_leftovers(index_dir, keep=generation)


def _current_generation(index_dir: Path) -> int:
    try:
        return Manifest.read(index_dir).generation
    except (IndexMissingError, IndexCorruptError):
        return 0


def _remove_leftovers(index_dir: Path, *, keep: int) -> None:
    """Delete generation files other than `keep`'s: the remains of an interrupted write."""
    suffix = f"-{keep:06d}"
    for path in index_dir.iterdir():
        stem = path.name.split(".")[0]
        if stem.startswith(("store-", "vectors-", "bm25-")) and not stem.endswith(suffix):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    (index_dir / f"{MANIFEST}.tmp").unlink(missing_ok=True)


def _write_sqlite(path: Path, documents: Sequence[Document], passages: Sequence[Passage]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    try:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (d.doc_id, d.source, d.title, d.date, d.author, d.sha256, d.text,
                 json.dumps(list(d.page_starts)))
                for d in documents
            ],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)",
            [(i, p.doc_id, p.ordinal, p.start, p.end, p.page) for i, p in enumerate(passages)],
        )
        db.commit()
    finally:
        db.close()
    _fsync(tmp)
    os.replace(tmp, path)
