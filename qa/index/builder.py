"""Building and updating the index: ingest → chunk → embed → store, incrementally.

An update keeps every document already indexed unless it changed (re-chunked, and only new
passage text embedded) or, with `prune`, its file is gone. New text goes through the embedding
cache, so the model loads only when there is text it has never seen. What changed goes to the
store named by the settings (`qa.index.backend`) as a `Delta`: the index folder writes a new
segment, PostgreSQL a transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DEFAULT_PRECISION, Settings
from ..errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ..ingest import Document, ReadLimits, Skipped, iter_files, read_all, source_file
from .analysis import TextAnalyzer
from .backend import open_store, store_target
from .cache import EmbeddingCache, embed_cached
from .chunking import Passage, embed_text, fit_title, split_document
from .delta import Delta, IndexSettings, StoreTarget, lexical_text
from .embedding import Embedder, cache_key, settings_embedder
from .entities import pipeline_version
from .layout import FORMAT_VERSION, Manifest
from .parts import DocumentRow
from .sentence_vectors import PRECISION as SENTENCE_PRECISION
from .sentence_vectors import (
    SUBJECT_WORDS,
    SentenceVectors,
    names_subject,
    passage_sentences,
    titled_sentences,
)
from .store import IndexStore
from .writer import LocalTarget

#: Stored sentence vectors per passage above which unused ones are looked for and dropped.
_SENTENCES_PER_PASSAGE = 12
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
    #: Segments `--optimize` merged into one (0: none, or nothing to merge).
    merged: int = 0
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
        # Recorded so that an index written before sentence vectors existed is re-chunked
        # (from the cache, cheaply) and gets them on its next update.
        "sentence_vectors": SENTENCE_PRECISION,
        "sentence_entities": pipeline_version(),
        # ...and one written before sentences were also embedded after a title naming the
        # document's subject (at most this many words) gets those.
        "titled_sentences": SUBJECT_WORDS,
    }


def index_paths(
    paths: Iterable[Path],
    settings: Settings,
    *,
    prune: bool = False,
    rebuild: bool = False,
    optimize: bool = False,
    embedder: Embedder | None = None,
    progress: ProgressFactory = _no_progress,
) -> IndexReport:
    """Add new, re-index changed, and (with `prune`) drop vanished documents.

    Args:
        paths: files and folders to read (recursively).
        settings: index folder, model and chunking settings.
        prune: remove indexed documents whose source file no longer exists.
        rebuild: ignore the existing index and start over (the embedding cache is kept).
        optimize: then merge the index folder's segments into one (see `qa.index.merge`).
        embedder: a ready embedder (the server passes its loaded model); by default the
            settings' model, loaded only if some text needs embedding.
        progress: progress-bar factory for the reading and embedding stages.

    Raises:
        IndexMismatchError / IndexCorruptError: the existing index can't be updated (the
            message says to rebuild); IndexBusyError: another run is writing;
            IngestError: a path does not exist; ConfigError: `optimize` with a store that
            has no segments.
    """
    began = time.perf_counter()
    limits = ReadLimits.from_settings(settings)
    entries = list(iter_files(paths, limits))
    model_name = embedder.name if embedder is not None else settings.model
    target = store_target(settings, repair=rebuild)
    if optimize and not isinstance(target, LocalTarget):
        raise ConfigError("--optimize merges the index folder's segments; a PostgreSQL store "
                          "has none (PostgreSQL maintains its own indexes)")
    with target.lock():
        report = _update(target, entries, settings, model_name, prune=prune, rebuild=rebuild,
                         embedder=embedder, progress=progress, began=began)
        if optimize and isinstance(target, LocalTarget):
            report = replace(report, merged=target.optimize(),
                             seconds=time.perf_counter() - began)
        return report


def _update(target: StoreTarget, entries: list[Path | Skipped], settings: Settings,
            model_name: str, *,
            prune: bool, rebuild: bool, embedder: Embedder | None, progress: ProgressFactory,
            began: float) -> IndexReport:
    """Read the files, then write what changed (called under the target's lock)."""
    limits = ReadLimits.from_settings(settings)
    old = None if rebuild else target.open_existing(model_name)
    try:
        precision = _precision(settings, embedder, old, target, rebuild=rebuild)
        plan = _Plan(old, settings, rebuild=rebuild, precision=precision)
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
            model = embedder or settings_embedder(settings, precision=precision)
        return plan.write(target, model, progress, began)
    finally:
        if old is not None:
            old.close()


def _precision(settings: Settings, embedder: Embedder | None, old: IndexStore | None,
               target: StoreTarget, *, rebuild: bool) -> str:
    """The precision this run embeds at: the given embedder's, else the one asked for, else
    the index's own (kept across `--rebuild` too), else the default.

    Raises:
        IndexMismatchError: the existing index was built at another precision.
    """
    wanted = embedder.precision if embedder is not None else settings.precision
    if old is not None:
        if wanted and wanted != old.manifest.precision:
            raise IndexMismatchError(
                f"the index at {target.describe()} was built at {old.manifest.precision} "
                f"precision, not {wanted}: run `qa index --rebuild --precision {wanted}` to "
                f"build it again at {wanted}, or leave out --precision (and QA_PRECISION) to "
                f"keep {old.manifest.precision}")
        return wanted or old.manifest.precision
    if not wanted and rebuild and not settings.store:
        try:
            wanted = Manifest.read(settings.index_dir).precision
        except (IndexMissingError, IndexCorruptError):
            pass
    return wanted or DEFAULT_PRECISION


class _Fresh:
    """The new and changed documents of the next state, chunked: passage i has vector row i."""

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self.passages: list[Passage] = []
        self.texts: list[str] = []  # what the model embeds for each passage


class _Plan:
    """The documents of the next generation, and which of them need chunking and embedding."""

    def __init__(self, old: IndexStore | None, settings: Settings, *, rebuild: bool,
                 precision: str) -> None:
        self.old = old
        self.settings = settings
        self.rebuild = rebuild
        self.precision = precision
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

    def write(self, target: StoreTarget, model: Embedder | None, progress: ProgressFactory,
              began: float) -> IndexReport:
        fresh = self._collect(model)
        vectors, embedded = self._vectors(fresh, model, progress)
        titles = {d.doc_id: d.title for d in fresh.documents}
        changed = {d.doc_id for d in fresh.documents}
        delta = Delta(
            order=list(self.docs), documents=fresh.documents, passages=fresh.passages,
            vectors=vectors,
            lexical_texts=[lexical_text(titles[p.doc_id], p.text) for p in fresh.passages],
            removed=frozenset(d for d in self.old_rows if d not in self.docs or d in changed),
            replace=self.old is None or self.rechunk_all,
        )
        if model is not None and fresh.passages:
            self._sentence_vectors(fresh, titles, model, progress)
        passages = target.write(delta, self._index_settings(model), self.old)
        if model is not None:
            self._prune_sentences(model, passages)
        return self.report(began, written=True, passages=passages, embedded=embedded)

    def _sentence_vectors(self, fresh: _Fresh, titles: dict[str, str], model: Embedder,
                          progress: ProgressFactory) -> None:
        """Embed the fresh passages' sentences now, so answering never has to. Done before
        the write commits, so a committed index never lacks them."""
        stored = SentenceVectors(self.settings.sentences_path, writable=True)
        subjects = {d.doc_id for d in fresh.documents
                    if names_subject(d.title, d.source, d.date)}
        items = [(titles[p.doc_id], p.text) for p in fresh.passages]
        try:
            stored.add(model, passage_sentences(items),
                       batch_size=self.settings.embed_batch_size * 4,
                       progress=lambda total: progress("sentences", total))
            # A document titled by its subject also has its sentences embedded after the
            # title, for the sentence model of such documents (`titled`).
            stored.add(model, titled_sentences([(titles[p.doc_id], p.text)
                                                for p in fresh.passages
                                                if p.doc_id in subjects]), with_entities=False,
                       batch_size=self.settings.embed_batch_size * 4,
                       progress=lambda total: progress("titled sentences", total))
        finally:
            stored.close()

    def _prune_sentences(self, model: Embedder, passages: int) -> None:
        """Drop sentence vectors no passage uses any more: on a rebuild, or once the stored
        rows outnumber what the index could hold (a sentence-heavy passage has about ten)."""
        stored = SentenceVectors(self.settings.sentences_path, writable=True)
        try:
            if not (self.rebuild or stored.count() > _SENTENCES_PER_PASSAGE * passages):
                return
            store = open_store(self.settings, model=model.name)
            try:
                live: list[str] = []
                for row in store.catalog.documents():
                    texts = [p.text for _, p in store.catalog.passages_of(row.doc_id)]
                    live += passage_sentences([(row.title, t) for t in texts])
                    if names_subject(row.title, row.source, row.date):
                        live += titled_sentences([(row.title, t) for t in texts])
            finally:
                store.close()
            stored.prune(cache_key(model), live)
        finally:
            stored.close()

    def _collect(self, model: Embedder | None) -> _Fresh:
        """The new and changed documents (every one, when re-chunking), chunked afresh."""
        fresh = _Fresh()
        for doc_id, doc in self.docs.items():
            if doc is None and self.old is not None and not self.rechunk_all:
                continue
            if doc is None:
                assert self.old is not None
                doc = self.old.catalog.document(doc_id)
            assert model is not None
            fresh.documents.append(doc)
            self._chunk(doc, model, fresh)
        return fresh

    def _chunk(self, doc: Document, model: Embedder, fresh: _Fresh) -> None:
        title = fit_title(doc.title, model.count_tokens)
        for passage in split_document(
            doc, model.count_tokens, max_tokens=self.settings.chunk_tokens,
            model_max_tokens=model.max_tokens,
            overlap_sentences=self.settings.chunk_overlap_sentences,
            max_chars=self.settings.max_passage_chars,
        ):
            fresh.texts.append(embed_text(title, passage.text))
            fresh.passages.append(passage)

    def _vectors(self, fresh: _Fresh, model: Embedder | None,
                 progress: ProgressFactory) -> tuple[np.ndarray, int]:
        """Cached or new vectors for the fresh passages."""
        dim = model.dim if model is not None else (self.old.manifest.dim if self.old else 0)
        if not fresh.texts:
            return np.zeros((0, dim), dtype=np.float32), 0
        assert model is not None
        cache = EmbeddingCache(self.settings.cache_path, repair=self.rebuild)
        try:
            if self.settings.ray:
                from .ray_embedding import RayEmbedder

                with RayEmbedder(model, self.settings) as on_ray:
                    return embed_cached(on_ray, fresh.texts, cache,
                                        progress=lambda total: progress("embedding", total))
            return embed_cached(model, fresh.texts, cache,
                                progress=lambda total: progress("embedding", total))
        finally:
            cache.close()

    def _index_settings(self, model: Embedder | None) -> IndexSettings:
        old = self.old.manifest if self.old is not None else None
        max_tokens = model.max_tokens if model is not None else (
            old.chunking.get("model_max_tokens") if old else None)
        name = model.name if model is not None else (old.model if old else self.settings.model)
        return IndexSettings(
            model=name, chunking=chunking_settings(self.settings, max_tokens),
            bm25={"k1": self.settings.bm25_k1, "b": self.settings.bm25_b},
            analyzer=self.analyzer, precision=self.precision,
        )
