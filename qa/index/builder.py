"""Building and updating the index: ingest → chunk → embed → store, incrementally.

An update keeps every document already indexed unless it changed (re-chunked, and only new
passage text embedded) or, with `prune`, its file is gone. Vectors of unchanged passages are
read back from the index, and new text goes through the embedding cache, so the model loads
only when there is text it has never seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import IndexMismatchError, IndexMissingError
from ..ingest import Document, ReadLimits, Skipped, iter_files, read_all, source_file
from .analysis import TextAnalyzer
from .cache import EmbeddingCache, embed_cached
from .chunking import Passage, embed_text, fit_title, split_document
from .embedding import Embedder, load_embedder
from .layout import FORMAT_VERSION
from .parts import DocumentRow
from .store import IndexStore
from .writer import Generation, IndexSettings, remove_leftovers, write_index, write_lock

#: Given a stage name and its total, returns a callback advancing it (a progress bar).
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def _no_progress(_stage: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


@dataclass(frozen=True)
class IndexReport:
    """What one `qa index` run did: documents added, changed, unchanged and removed, the
    totals after it, texts sent to the model, and the files skipped with their reasons."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    documents: int = 0
    passages: int = 0
    embedded: int = 0
    written: bool = False
    skipped: tuple[Skipped, ...] = field(default_factory=tuple)
    seconds: float = 0.0


def chunking_settings(settings: Settings, embedder_max_tokens: int | None) -> dict[str, Any]:
    """What the manifest records about chunking (a change re-chunks every document)."""
    return {
        "splitter": "sentencex",
        "chunk_tokens": settings.chunk_tokens,
        "overlap_sentences": settings.chunk_overlap_sentences,
        "max_passage_chars": settings.max_passage_chars,
        "model_max_tokens": embedder_max_tokens,
    }


def index_paths(
    paths: Iterable[Path],
    settings: Settings,
    *,
    prune: bool = False,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory = _no_progress,
) -> IndexReport:
    """Add new, re-index changed, and (with `prune`) drop vanished documents.

    Args:
        paths: files and folders to read (recursively).
        settings: index folder, model and chunking settings.
        prune: remove indexed documents whose source file no longer exists.
        rebuild: ignore the existing index and start over (the embedding cache is kept).
        embedder: a ready embedder (the server passes its loaded model); by default the
            settings' model, loaded only if some text needs embedding.
        progress: progress-bar factory for the reading and embedding stages.

    Raises:
        IndexMismatchError / IndexCorruptError: the existing index can't be updated (the
            message says to rebuild); IndexBusyError: another run is writing;
            IngestError: a path does not exist.
    """
    began = time.perf_counter()
    index_dir = settings.index_dir
    limits = ReadLimits.from_settings(settings)
    entries = list(iter_files(paths, limits))
    model_name = embedder.name if embedder is not None else settings.model
    with write_lock(index_dir, repair=rebuild):
        remove_leftovers(index_dir)
        old = None if rebuild else _open_existing(index_dir, model_name)
        try:
            plan = _Plan(old, settings, rebuild=rebuild)
            tick = progress("reading", len(entries))
            for entry in entries:
                for item in read_all([entry], limits):
                    plan.take(item)
                tick(1)
            if prune:
                plan.prune()
            if not plan.needs_write():
                return plan.report(began, written=False)
            model = None
            if plan.needs_model():
                model = embedder or load_embedder(settings.model,
                                                  batch_size=settings.embed_batch_size)
            return plan.write(model, progress, began)
        finally:
            if old is not None:
                old.close()


def _open_existing(index_dir: Path, model: str) -> IndexStore | None:
    """The index to update, or None for a first run. A mismatched or corrupt index raises:
    its message says to run `qa index --rebuild`."""
    try:
        return IndexStore.load(index_dir, model=model)
    except IndexMissingError:
        return None
    except IndexMismatchError:
        # An index written by another version of qa: its documents are read back and indexed
        # again in the current format, so nothing is lost. Another model still stops here.
        old = IndexStore.load(index_dir, model=model, any_format=True)
        if old.manifest.format_version == FORMAT_VERSION:
            raise
        return old


class _Rows:
    """The next generation's rows as they are collected: passage i has vector row i."""

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.passages: list[Passage] = []
        self.reuse: list[tuple[int, int]] = []  # (new passage id, old passage id)
        self.fresh: list[tuple[int, str]] = []  # (new passage id, text to embed)


class _Plan:
    """The documents of the next generation, and which of them need chunking and embedding."""

    def __init__(self, old: IndexStore | None, settings: Settings, *, rebuild: bool) -> None:
        self.old = old
        self.settings = settings
        self.rebuild = rebuild
        self.analyzer = TextAnalyzer()
        self.docs: dict[str, Document | None] = {}  # None: unchanged, reuse the old version
        self.seen: set[str] = set()
        self.skipped: list[Skipped] = []
        self.counts = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0}
        self.old_rows: dict[str, DocumentRow] = (
            {r.doc_id: r for r in old.catalog.documents()} if old else {})
        self.docs.update(dict.fromkeys(self.old_rows))
        self.rechunk_all = old is not None and (
            old.manifest.format_version != FORMAT_VERSION or any(
                old.manifest.chunking.get(k) != v
                for k, v in chunking_settings(settings, None).items() if k != "model_max_tokens"
            ))

    def take(self, item: Document | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skipped.append(item)
            return
        if item.doc_id in self.seen:
            self.skipped.append(Skipped(item.source, f"duplicate document id {item.doc_id!r}"))
            return
        self.seen.add(item.doc_id)
        old_row = self.old_rows.get(item.doc_id)
        if old_row is not None and old_row.sha256 == item.sha256 and not self.rechunk_all:
            self.counts["unchanged"] += 1
            return
        self.counts["changed" if old_row is not None else "added"] += 1
        self.docs[item.doc_id] = item

    def prune(self) -> None:
        for doc_id, row in self.old_rows.items():
            if doc_id not in self.seen and not source_file(row.source).exists():
                del self.docs[doc_id]
                self.counts["removed"] += 1

    def needs_write(self) -> bool:
        return self.old is None or self.rechunk_all or any(
            self.counts[k] for k in ("added", "changed", "removed")
        )

    def needs_model(self) -> bool:
        return self.rechunk_all or any(d is not None for d in self.docs.values())

    def report(self, began: float, *, written: bool, passages: int | None = None,
               embedded: int = 0) -> IndexReport:
        count = passages if passages is not None else (self.old.count if self.old else 0)
        return IndexReport(
            **self.counts, documents=len(self.docs), passages=count,
            embedded=embedded, written=written, skipped=tuple(self.skipped),
            seconds=time.perf_counter() - began,
        )

    def write(self, model: Embedder | None, progress: ProgressFactory,
              began: float) -> IndexReport:
        rows = self._collect(model)
        vectors, embedded = self._vectors(rows, model, progress)
        titles = {d.doc_id: d.title for d in rows.documents}
        how = self._index_settings(model)
        write_index(self.settings.index_dir, Generation(
            documents=rows.documents, passages=rows.passages, vectors=vectors,
            lexical_texts=[f"{titles[p.doc_id]}\n{p.text}" for p in rows.passages],
        ), how)
        return self.report(began, written=True, passages=len(rows.passages),
                           embedded=embedded)

    def _collect(self, model: Embedder | None) -> _Rows:
        """Every document of the next generation with its passages: unchanged ones as they
        were, new and changed ones chunked afresh."""
        rows = _Rows()
        for doc_id, doc in self.docs.items():
            if doc is None and self.old is not None and not self.rechunk_all:
                rows.documents.append(self.old.catalog.document(doc_id))
                for old_id, passage in self.old.catalog.passages_of(doc_id):
                    rows.reuse.append((len(rows.passages), old_id))
                    rows.passages.append(passage)
                continue
            if doc is None:
                assert self.old is not None
                doc = self.old.catalog.document(doc_id)
            assert model is not None
            rows.documents.append(doc)
            self._chunk(doc, model, rows)
        return rows

    def _chunk(self, doc: Document, model: Embedder, rows: _Rows) -> None:
        title = fit_title(doc.title, model.count_tokens)
        for passage in split_document(
            doc, model.count_tokens, max_tokens=self.settings.chunk_tokens,
            model_max_tokens=model.max_tokens,
            overlap_sentences=self.settings.chunk_overlap_sentences,
            max_chars=self.settings.max_passage_chars,
        ):
            rows.fresh.append((len(rows.passages), embed_text(title, passage.text)))
            rows.passages.append(passage)

    def _vectors(self, rows: _Rows, model: Embedder | None,
                 progress: ProgressFactory) -> tuple[np.ndarray, int]:
        """Old vectors for reused passages, cached or new ones for the rest."""
        dim = model.dim if model is not None else (self.old.manifest.dim if self.old else 0)
        vectors = np.zeros((len(rows.passages), dim), dtype=np.float32)
        if rows.reuse and self.old is not None:
            new_ids, old_ids = zip(*rows.reuse, strict=True)
            vectors[list(new_ids)] = self.old.dense.vectors(list(old_ids))
        if not rows.fresh:
            return vectors, 0
        assert model is not None
        cache = EmbeddingCache(self.settings.cache_path, repair=self.rebuild)
        try:
            fresh, embedded = embed_cached(
                model, [text for _, text in rows.fresh], cache,
                progress=lambda total: progress("embedding", total),
            )
        finally:
            cache.close()
        vectors[[row for row, _ in rows.fresh]] = fresh
        return vectors, embedded

    def _index_settings(self, model: Embedder | None) -> IndexSettings:
        old = self.old.manifest if self.old is not None else None
        max_tokens = model.max_tokens if model is not None else (
            old.chunking.get("model_max_tokens") if old else None)
        name = model.name if model is not None else (old.model if old else self.settings.model)
        return IndexSettings(
            model=name, chunking=chunking_settings(self.settings, max_tokens),
            bm25={"k1": self.settings.bm25_k1, "b": self.settings.bm25_b},
            analyzer=self.analyzer,
        )
