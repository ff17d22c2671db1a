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

from .chunking import Passage, embed_text, fit_title, split_document
from .config import Settings
from .embedding import Embedder, EmbeddingCache, embed_cached, load_embedder
from .errors import IndexMismatchError, IndexMissingError
from .ingest import Document, Skipped, iter_files, load
from .store import FORMAT_VERSION, IndexStore
from .writer import remove_leftovers, write_index, write_lock

#: Given a stage name and its total, returns a callback advancing it (a progress bar).
ProgressFactory = Callable[[str, int], Callable[[int], None]]


def _no_progress(_stage: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


@dataclass(frozen=True)
class IndexReport:
    """What one `qa index` run did."""

    index_dir: Path
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
    return {
        "splitter": "sentencex",
        "chunk_tokens": settings.chunk_tokens,
        "overlap_sentences": settings.chunk_overlap_sentences,
        "model_max_tokens": embedder_max_tokens,
    }


class _LazyEmbedder:
    """Loads the model on first use, so an up-to-date index never pays for it."""

    def __init__(self, settings: Settings, factory: Callable[[], Embedder] | None) -> None:
        self._settings = settings
        self._factory = factory
        self._model: Embedder | None = None

    def get(self) -> Embedder:
        if self._model is None:
            self._model = self._factory() if self._factory else load_embedder(
                self._settings.model, batch_size=self._settings.embed_batch_size
            )
        return self._model


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
        embedder: a ready embedder (tests pass a fake); by default the settings' model,
            loaded only if some text needs embedding.
        progress: progress-bar factory for the reading and embedding stages.

    Raises:
        IndexMismatchError / IndexCorruptError: the existing index can't be updated (the
            message says to rebuild); IngestError: a path does not exist.
    """
    began = time.perf_counter()
    index_dir = settings.index_dir
    lazy = _LazyEmbedder(settings, (lambda: embedder) if embedder is not None else None)
    files = list(iter_files(paths))
    with write_lock(index_dir):
        remove_leftovers(index_dir)
        old = None if rebuild else _open_existing(index_dir, settings.model if embedder is None
                                                  else embedder.name)
        plan = _Plan(old, settings)
        tick = progress("reading", len(files))
        for item in load(files):
            plan.take(item)
            if isinstance(item, Document) or "#" not in item.source:
                tick(1)
        if prune:
            plan.prune()
        if not plan.needs_write():
            return plan.report(index_dir, began, written=False)
        model = lazy.get() if plan.needs_model() else None
        return plan.write(index_dir, model, progress, began)


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


class _Plan:
    """The documents of the next generation, and which of them need chunking and embedding."""

    def __init__(self, old: IndexStore | None, settings: Settings) -> None:
        self.old = old
        self.settings = settings
        self.docs: dict[str, Document | None] = {}  # None: unchanged, reuse the old version
        self.fresh: set[str] = set()
        self.skipped: list[Skipped] = []
        self.counts = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0}
        self.old_rows = {r[0]: r for r in old.document_rows()} if old else {}
        for doc_id in self.old_rows:
            self.docs[doc_id] = None
        self.rechunk_all = old is not None and (
            old.manifest.format_version != FORMAT_VERSION or any(
                old.manifest.chunking.get(k) != v
                for k, v in chunking_settings(settings, None).items() if k != "model_max_tokens"
            ))

    def take(self, item: Document | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skipped.append(item)
            return
        if item.doc_id in self.fresh:
            self.skipped.append(Skipped(item.source, f"duplicate document id {item.doc_id!r}"))
            return
        self.fresh.add(item.doc_id)
        old_row = self.old_rows.get(item.doc_id)
        if old_row is not None and old_row[4] == item.sha256 and not self.rechunk_all:
            self.counts["unchanged"] += 1
            return
        self.counts["changed" if old_row is not None else "added"] += 1
        self.docs[item.doc_id] = item

    def prune(self) -> None:
        for doc_id, row in self.old_rows.items():
            if doc_id not in self.fresh and not Path(row[1].split("#")[0]).exists():
                del self.docs[doc_id]
                self.counts["removed"] += 1

    def needs_write(self) -> bool:
        return self.old is None or self.rechunk_all or any(
            self.counts[k] for k in ("added", "changed", "removed")
        )

    def needs_model(self) -> bool:
        return self.rechunk_all or any(d is not None for d in self.docs.values())

    def report(self, index_dir: Path, began: float, *, written: bool, passages: int | None = None,
               embedded: int = 0) -> IndexReport:
        count = passages if passages is not None else (self.old.count if self.old else 0)
        return IndexReport(
            index_dir=index_dir, **self.counts, documents=len(self.docs), passages=count,
            embedded=embedded, written=written, skipped=tuple(self.skipped),
            seconds=time.perf_counter() - began,
        )

    def write(self, index_dir: Path, model: Embedder | None, progress: ProgressFactory,
              began: float) -> IndexReport:
        documents: list[Document] = []
        passages: list[Passage] = []
        embed_inputs: list[str] = []
        reuse: list[tuple[int, int]] = []  # (new passage id, old passage id)
        fresh_rows: list[int] = []
        for doc_id, doc in self.docs.items():
            if doc is None and self.old is not None and not self.rechunk_all:
                documents.append(self.old.document(doc_id))
                for old_id, passage in zip(self.old.passage_ids_of(doc_id),
                                           self.old.passages_of(doc_id), strict=True):
                    reuse.append((len(passages), old_id))
                    passages.append(passage)
                    embed_inputs.append("")
                continue
            if doc is None:
                assert self.old is not None
                doc = self.old.document(doc_id)
            assert model is not None
            documents.append(doc)
            title = fit_title(doc.title, model.count_tokens)
            for passage in split_document(
                doc, model.count_tokens, max_tokens=self.settings.chunk_tokens,
                model_max_tokens=model.max_tokens,
                overlap_sentences=self.settings.chunk_overlap_sentences,
            ):
                fresh_rows.append(len(passages))
                passages.append(passage)
                embed_inputs.append(embed_text(title, passage.text))
        dim = model.dim if model is not None else (self.old.manifest.dim if self.old else 0)
        vectors = np.zeros((len(passages), dim), dtype=np.float32)
        if reuse and self.old is not None:
            new_ids, old_ids = zip(*reuse, strict=True)
            vectors[list(new_ids)] = self.old.vectors(list(old_ids))
        embedded = 0
        if fresh_rows:
            assert model is not None
            cache = EmbeddingCache(self.settings.cache_path)
            try:
                fresh, embedded = embed_cached(
                    model, [embed_inputs[i] for i in fresh_rows], cache,
                    progress=lambda total: progress("embedding", total),
                )
            finally:
                cache.close()
            vectors[fresh_rows] = fresh
        titles = {d.doc_id: d.title for d in documents}
        max_tokens = model.max_tokens if model is not None else (
            self.old.manifest.chunking.get("model_max_tokens") if self.old else None)
        model_name = model.name if model is not None else (self.old.manifest.model if self.old
                                                          else self.settings.model)
        if self.old is not None:
            self.old.close()
        write_index(
            index_dir, documents=documents, passages=passages, vectors=vectors,
            bm25_texts=[f"{titles[p.doc_id]}\n{p.text}" for p in passages],
            model=model_name, chunking=chunking_settings(self.settings, max_tokens),
            bm25_params={"k1": self.settings.bm25_k1, "b": self.settings.bm25_b},
        )
        return self.report(index_dir, began, written=True, passages=len(passages),
                           embedded=embedded)
